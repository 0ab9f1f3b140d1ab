import { handle } from 'hono/aws-lambda';
import { jwksFloorApp } from './jwks-floor-app.ts';

/** The jwks floor as a Lambda handler. */
export const handler = handle(jwksFloorApp());
