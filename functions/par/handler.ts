import { lambdaHandler } from '../app/lambda.ts';
import { parAppFromEnv } from './wiring.ts';

/** POST /par behind API Gateway (HTTP API, payload format 2.0). Configuration is read at cold start. */
export const handler = lambdaHandler(parAppFromEnv(process.env));
