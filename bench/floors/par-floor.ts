import { handle } from 'hono/aws-lambda';
import { parFloorApp } from './par-floor-app.ts';

/** The par floor as a Lambda handler: hono's aws-lambda adapter around parFloorApp. */
export const handler = handle(parFloorApp());
