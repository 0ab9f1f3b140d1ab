import { lambdaHandler } from '../app/lambda.ts';
import { inLambda } from '../app/prefetch.ts';
import { fromEnv } from './wiring.ts';

/** GET /.well-known/jwks.json behind API Gateway (HTTP API, payload format 2.0). */
const jwks = fromEnv(process.env);
export const handler = lambdaHandler(jwks.app);
if (inLambda(process.env)) await jwks.prefetch();
