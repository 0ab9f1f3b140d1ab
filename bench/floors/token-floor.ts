import { handle } from 'hono/aws-lambda';
import { tokenFloorApp } from './token-floor-app.ts';

/** The token floor as a Lambda handler. */
export const handler = handle(tokenFloorApp());
