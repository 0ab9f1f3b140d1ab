import { Hono } from 'hono';

/** hono's hello world: one route that answers a small JSON body, no I/O. */
export function helloApp(): Hono {
  const app = new Hono();
  app.all('*', (c) => c.json({ message: 'Hello Hono!' }));
  return app;
}
