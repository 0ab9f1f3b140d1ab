import { lambdaHandler } from '../app/lambda.ts';
import { inLambda } from '../app/prefetch.ts';
import { fromEnv } from './wiring.ts';

/** POST /par behind API Gateway (HTTP API, payload format 2.0). Configuration is read at cold start. */
const par = fromEnv(process.env);
export const handler = lambdaHandler(par.app);
if (inLambda(process.env)) await par.prefetch();
