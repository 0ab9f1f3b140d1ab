import { lambdaHandler } from '../app/lambda.ts';
import { inLambda } from '../app/prefetch.ts';
import { fromEnv } from './wiring.ts';

/** The bff mode's routes behind API Gateway (HTTP API, payload format 2.0). Configuration is read at cold start. */
const bff = fromEnv(process.env);
export const handler = lambdaHandler(bff.app);
if (inLambda(process.env)) await bff.prefetch();
