import { parAppFromEnv } from '../../functions/par/wiring.ts';
import { serve } from './serve.ts';

serve(parAppFromEnv(process.env));
