import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';

/**
 * Serves a hono app on 127.0.0.1 (any free port) with @hono/node-server, as local/stack.ts does, and
 * tells the parent process the port over IPC. Throughput runs only: bundled like the functions.
 */
export function serve(app: { fetch: (request: Request) => Response | Promise<Response> }): void {
  const server = http.createServer(getRequestListener((request) => app.fetch(request)));
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  // The parent asks for this process's CPU time before and after a load, to report CPU per request.
  process.on('message', (message) => {
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => process.exit(0));
}
