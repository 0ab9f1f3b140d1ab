import { lambdaHandler } from '../app/lambda.ts';
import { inLambda } from '../app/prefetch.ts';
import { fromEnv } from './wiring.ts';

/** POST /token behind API Gateway (HTTP API, payload format 2.0). Configuration is read at cold start. */
const token = fromEnv(process.env);
export const handler = lambdaHandler(token.app);
if (inLambda(process.env)) await token.prefetch();
