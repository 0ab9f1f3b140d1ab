import { helloApp } from '../floors/hello-app.ts';
import { serve } from './serve.ts';

serve(helloApp());
