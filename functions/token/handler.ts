import { lambdaHandler } from '../app/lambda.ts';
import { tokenAppFromEnv } from './wiring.ts';

/** POST /token behind API Gateway (HTTP API, payload format 2.0). Configuration is read at cold start. */
export const handler = lambdaHandler(tokenAppFromEnv(process.env));
