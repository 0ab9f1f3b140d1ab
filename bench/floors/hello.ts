import { handle } from 'hono/aws-lambda';
import { helloApp } from './hello-app.ts';

/** hono's hello world as a Lambda handler: the adapter's own cost, nothing else. */
export const handler = handle(helloApp());
