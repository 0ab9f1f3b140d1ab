import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from '../../functions/adapters/http-client.ts';

/**
 * The keep-alive client against a server on 127.0.0.1 that resets connections on purpose: a socket
 * the server dropped while it sat in the pool is retried once on a new one; nothing else is.
 */
let server: http.Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

/** Answers `ok` unless `reset(requestNumber, socketRequestNumber)` says to drop the socket unanswered. */
async function startServer(reset: (nth: number, onSocket: number) => boolean) {
  const seen = { requests: 0, connections: 0 };
  const perSocket = new WeakMap<object, number>();
  server = http.createServer((req, res) => {
    seen.requests += 1;
    const onSocket = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, onSocket);
    req.resume();
    req.on('end', () => {
      if (reset(seen.requests, onSocket)) req.socket.destroy();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.on('connection', () => (seen.connections += 1));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`), seen };
}

/** A post that may be sent twice (a PAR push): `retryStaleSocket`. */
const post = (url: URL, retryStaleSocket = true) => request(url, { method: 'POST', body: 'a=1', signal: AbortSignal.timeout(2000), retryStaleSocket });
const get = (url: URL) => request(url, { method: 'GET', signal: AbortSignal.timeout(2000) });

describe('keep-alive sockets (Node http, request.reusedSocket)', () => {
  it('a pooled socket the server dropped is retried once on a new socket, and the request succeeds', async () => {
    // The second request on the first socket is dropped unanswered, as a server closing an idle socket does.
    const { url, seen } = await startServer((_nth, onSocket) => onSocket === 2);
    expect((await post(url)).status).toBe(200);
    const second = await post(url);
    expect(second.status).toBe(200);
    expect(second.body).toBe('{"ok":true}');
    expect(seen).toEqual({ requests: 3, connections: 2 });
  });

  it('a GET is retried without being told (RFC 9110 9.2.2: idempotent); a POST only when it may be sent twice', async () => {
    const getting = await startServer((_nth, onSocket) => onSocket === 2);
    expect((await get(getting.url)).status).toBe(200);
    expect((await get(getting.url)).status).toBe(200);
    expect(getting.seen.requests).toBe(3);
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;

    // A token request must not be sent twice: the server may have redeemed the code already.
    const posting = await startServer((_nth, onSocket) => onSocket === 2);
    expect((await post(posting.url, false)).status).toBe(200);
    await expect(post(posting.url, false)).rejects.toThrow();
    expect(posting.seen.requests).toBe(2);
  });

  it('a reset on a new socket is not retried: the server may have acted on the request', async () => {
    const { url, seen } = await startServer(() => true);
    await expect(post(url)).rejects.toThrow();
    expect(seen.requests).toBe(1);
  });

  it('retries at most once', async () => {
    // Every second request on any socket is dropped: the retry's new socket answers its first request.
    const { url, seen } = await startServer((nth) => nth >= 2);
    expect((await post(url)).status).toBe(200);
    await expect(post(url)).rejects.toThrow();
    expect(seen.requests).toBe(3);
  });
});
