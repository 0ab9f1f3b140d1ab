import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { forwardToApi, MAX_API_RESPONSE_BYTES, type ApiRequest } from '../../functions/adapters/api-upstream.ts';
import { Deadline } from '../../functions/core/deadline.ts';
import { refusal } from '../helpers/refusal.ts';

/**
 * The bff's API forwarding against a real HTTP server on 127.0.0.1: what the API receives (RFC 6750
 * 2.1 bearer token, allow-listed headers only), what the browser gets back (allow-listed headers,
 * never Set-Cookie), and the faults: a redirect, an answer too large, a hang, a reset.
 */
interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly port: number;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let api: http.Server;
let base: string;
let handler: Handler;
const received: Received[] = [];
const sockets = new Set<Socket>();

beforeAll(async () => {
  api = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks), port: req.socket.remotePort! });
      handler(req, res);
    });
  });
  api.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(
  () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      api.close(() => resolve());
    }),
);
beforeEach(() => {
  received.length = 0;
  handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});

const deadline = (budgetMs = 3000) => Deadline.start(Date.now, budgetMs, 5000);

function call(overrides: Partial<ApiRequest> = {}, budgetMs?: number) {
  return forwardToApi(
    { method: 'GET', url: new URL(`${base}/api/items?page=2`), headers: new Headers(), accessToken: 'the-access-token', ...overrides },
    deadline(budgetMs),
  );
}

describe('forwardToApi: the request the API receives', () => {
  it('sends method, path, query and body, with Authorization: Bearer and the allow-listed headers only (RFC 6750 2.1)', async () => {
    const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const allowed = {
      accept: 'application/json',
      'accept-language': 'de',
      'content-type': 'application/octet-stream',
      'if-none-match': '"v1"',
      range: 'bytes=0-9',
      'x-request-id': 'req-1',
    };
    const browser = new Headers({
      ...allowed,
      cookie: '__Host-bff-session=sealed',
      authorization: 'Bearer from-the-browser',
      'x-csrf': '1',
      host: 'bff.example',
      origin: 'https://app.example',
      referer: 'https://app.example/page',
      connection: 'x-custom',
      'x-custom': 'named-by-connection',
      'keep-alive': 'timeout=5',
      'proxy-authorization': 'Basic eA==',
      'proxy-connection': 'keep-alive',
      te: 'trailers',
      trailer: 'x-t',
      upgrade: 'websocket',
      forwarded: 'for=1.2.3.4',
      'x-forwarded-for': '1.2.3.4',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'http',
      'accept-encoding': 'gzip',
    });
    const answer = await call({ method: 'PUT', headers: browser, body });
    expect(answer.status).toBe(200);
    const [request] = received;
    expect(request).toMatchObject({ method: 'PUT', url: '/api/items?page=2' });
    expect(request!.body.equals(body)).toBe(true);
    expect(request!.headers).toEqual({
      ...allowed,
      authorization: 'Bearer the-access-token',
      'content-length': '256',
      host: new URL(base).host,
      connection: 'keep-alive',
    });
  });

  it('a GET without a body sends no content-length; calls reuse a keep-alive connection', async () => {
    await call();
    await call();
    expect(received[0]!.headers['content-length']).toBeUndefined();
    expect(received[1]!.port).toBe(received[0]!.port);
  });
});

describe('forwardToApi: the answer the browser gets', () => {
  it('the status and body as the API sent them, allow-listed headers only: never Set-Cookie (BFF.md)', async () => {
    handler = (_req, res) =>
      res
        .writeHead(404, {
          'content-type': 'application/problem+json',
          'cache-control': 'private, max-age=60',
          etag: '"v2"',
          vary: 'Accept',
          'www-authenticate': 'Bearer error="insufficient_scope"',
          'set-cookie': ['api-session=1; Path=/', 'other=2'],
          location: '/elsewhere',
          server: 'upstream/1.0',
          'x-powered-by': 'php',
          'access-control-allow-origin': '*',
          'strict-transport-security': 'max-age=1',
        })
        .end('{"title":"not found"}');
    const answer = await call();
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).toBe('{"title":"not found"}');
    expect(answer.headers).toEqual({
      'content-type': 'application/problem+json',
      'cache-control': 'private, max-age=60',
      etag: '"v2"',
      vary: 'Accept',
      'www-authenticate': 'Bearer error="insufficient_scope"',
    });
  });

  it('Location only with a 201 Created (RFC 9110 15.3.2)', async () => {
    handler = (_req, res) => res.writeHead(201, { location: '/api/items/7', 'content-type': 'application/json' }).end('{}');
    expect((await call({ method: 'POST', body: Buffer.from('{}') })).headers).toEqual({ location: '/api/items/7', 'content-type': 'application/json' });
  });

  it('304 Not Modified passes (RFC 9110 15.4.5), with its validators', async () => {
    handler = (_req, res) => res.writeHead(304, { etag: '"v1"' }).end();
    const answer = await call({ headers: new Headers({ 'if-none-match': '"v1"' }) });
    expect({ status: answer.status, headers: answer.headers, size: answer.body.length }).toEqual({ status: 304, headers: { etag: '"v1"' }, size: 0 });
  });

  it('an API error status is the API answer, passed on (500 stays 500)', async () => {
    handler = (_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('broken');
    expect((await call()).status).toBe(500);
  });

  it('an answer of exactly 5 MiB passes', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(MAX_API_RESPONSE_BYTES, 1));
    expect((await call()).body.length).toBe(MAX_API_RESPONSE_BYTES);
  });
});

describe('forwardToApi: faults, typed (502, 504), nothing followed', () => {
  it.each([301, 302, 303, 307, 308])('a %i redirect is not followed: 502 "the API answered with a redirect"', async (status) => {
    handler = (req, res) => (req.url === '/followed' ? res.writeHead(200).end('followed') : res.writeHead(status, { location: '/followed' }).end());
    const error = await refusal(call());
    expect({ status: error.status, error: error.error, description: error.description }).toEqual({
      status: 502,
      error: 'server_error',
      description: 'the API answered with a redirect',
    });
    expect(received.map((r) => r.url)).toEqual(['/api/items?page=2']);
  });

  it('a 6 MiB answer with its content-length: 502', async () => {
    handler = (_req, res) => res.writeHead(200).end(Buffer.alloc(6 * 1024 * 1024));
    const error = await refusal(call());
    expect({ status: error.status, description: error.description }).toEqual({ status: 502, description: `the API answered with more than ${MAX_API_RESPONSE_BYTES} bytes` });
  });

  it('a 6 MiB answer streamed without a content-length: 502', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < 6; i += 1) res.write(Buffer.alloc(1024 * 1024));
      res.end();
    };
    expect((await refusal(call())).status).toBe(502);
  });

  it('an API that never answers: 504 within the deadline', async () => {
    handler = () => {};
    const started = Date.now();
    const error = await refusal(call({}, 400));
    expect({ status: error.status, error: error.error, description: error.description }).toEqual({
      status: 504,
      error: 'temporarily_unavailable',
      description: 'the API did not answer in time',
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('an API that stops mid-body: 504 within the deadline', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    };
    expect((await refusal(call({}, 400))).status).toBe(504);
  });

  it('a connection reset: 502', async () => {
    handler = (req) => req.socket.destroy();
    const error = await refusal(call());
    expect({ status: error.status, description: error.description }).toEqual({ status: 502, description: 'the API could not be reached or closed the connection' });
  });

  it('nothing listening: 502', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect((await refusal(call({ url: new URL(`http://127.0.0.1:${port}/api`) }))).status).toBe(502);
  });

  it('the access token is in no error description', async () => {
    handler = (req) => req.socket.destroy();
    expect(JSON.stringify((await refusal(call())).toJSON())).not.toContain('the-access-token');
  });
});
