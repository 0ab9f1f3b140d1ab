import { parFloorApp } from '../floors/par-floor-app.ts';
import { serve } from './serve.ts';

serve(parFloorApp());
