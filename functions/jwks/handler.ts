import { lambdaHandler } from '../app/lambda.ts';
import { jwksAppFromEnv } from './wiring.ts';

/** GET /.well-known/jwks.json behind API Gateway (HTTP API, payload format 2.0). */
export const handler = lambdaHandler(jwksAppFromEnv(process.env));
