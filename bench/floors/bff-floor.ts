import { handle } from 'hono/aws-lambda';
import { bffFloorApp } from './bff-floor-app.ts';

/** The bff floor as a Lambda handler. */
export const handler = handle(bffFloorApp());
