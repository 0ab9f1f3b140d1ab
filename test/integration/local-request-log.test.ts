import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogSink } from '../../functions/app/observability.ts';
import { readableRequestLine, requestLogMode, requestLogSink } from '../../local/request-log.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { validIntent } from '../helpers/harness.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';

/**
 * `npm start`'s request log: one short readable line per request (method, route, status, ms and
 * upstream timings), the raw JSON line that Lambda writes with `--json` or LOCAL_LOG=json. The
 * functions are still built from the environment exactly as in Lambda; only where their lines go
 * differs.
 */
let stack: LocalStack;
let sink: LogSink = () => {};
const leaks = createLeakCollector('keep');

beforeAll(async () => {
  stack = await startLocalStack({ requestLog: (line) => sink(line) });
  leaks.secret(stack.clientSecret);
  stack.authorizationServer.provider.on('pushed_authorization_request.success', (ctx) => {
    leaks.secret(String((ctx.oidc.body as Record<string, unknown>).request));
  });
});
afterAll(() => stack?.close());

/** What the log prints while `requests` run, in the given mode. */
async function printed(mode: 'readable' | 'json', requests: () => Promise<unknown>): Promise<string> {
  const chunks: string[] = [];
  sink = requestLogSink(mode, (text) => chunks.push(text));
  try {
    await requests();
  } finally {
    sink = () => {};
  }
  const text = chunks.join('');
  leaks.add(text);
  return text;
}

const push = (intent: Record<string, unknown> = {}) =>
  fetch(`${stack.proxyUrl}/par`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: stack.proxyUrl },
    body: JSON.stringify({ ...validIntent(), redirect_uri: stack.redirectUri, ...intent }),
  }).then(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> }));

describe('the local stack request log', () => {
  it('prints one short line per request: method, route, status, ms and each upstream\'s ms', async () => {
    const text = await printed('readable', async () => {
      expect((await push()).status).toBe(201);
      expect((await push({ redirect_uri: 'https://evil.example/callback' })).status).toBe(400);
    });
    const lines = text.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^POST \/par 201 \d+ ms \((?:[a-z_]+ \d+, )*kms \d+(?:, [a-z_]+ \d+)*\)$/);
    expect(lines[0]).toMatch(/\bauthorization_server \d+\b/);
    // A refusal names its OAuth error code: nothing reached KMS or the authorization server.
    expect(lines[1]).toMatch(/^POST \/par 400 \d+ ms invalid_request: .+$/);
    for (const line of lines) expect(line.length).toBeLessThan(160);
    expect(text).not.toContain('{');
  });

  it('prints the raw JSON line, exactly as Lambda writes it, in json mode', async () => {
    const text = await printed('json', async () => expect((await push()).status).toBe(201));
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'INFO', message: 'request', service: 'par', method: 'POST', route: '/par', status: 201, Pushed: 1 });
    expect(line._aws).toMatchObject({ CloudWatchMetrics: expect.any(Array) });
  });

  it('is json with --json (npm start -- --json) or LOCAL_LOG=json, readable otherwise, and refuses other values', () => {
    expect(requestLogMode([], {})).toBe('readable');
    expect(requestLogMode(['--json'], {})).toBe('json');
    expect(requestLogMode([], { LOCAL_LOG: 'json' })).toBe('json');
    expect(requestLogMode([], { LOCAL_LOG: 'readable' })).toBe('readable');
    expect(() => requestLogMode([], { LOCAL_LOG: 'yes' })).toThrow(/^LOCAL_LOG: /);
  });

  it('names an unexpected exception and unreadable JWKS keys, and keeps a line that is no request record as is', () => {
    const line = (record: Record<string, unknown>) =>
      readableRequestLine(JSON.stringify({ level: 'ERROR', message: 'request', service: 'jwks', requestId: 'r', upstreamMs: {}, ...record }));
    expect(line({ method: 'POST', route: '/par', status: 500, durationMs: 3, error: 'server_error', errorDescription: 'internal error', exception: 'TypeError' }))
      .toBe('POST /par 500 3 ms server_error: internal error [TypeError]');
    expect(line({ method: 'GET', route: '/.well-known/jwks.json', status: 200, durationMs: 9, upstreamMs: { kms: 8 }, keyFailures: [{}, {}] }))
      .toBe('GET /.well-known/jwks.json 200 9 ms (kms 8) [2 keys unreadable]');
    expect(readableRequestLine('{"message":"cold start"}')).toBe('{"message":"cold start"}');
    expect(readableRequestLine('not json')).toBe('not json');
  });

  it('no leaks: neither line holds the client secret, a request object or a stack trace', () => {
    const report = leaks.report();
    expect(report.requestLogLines).toBe(1);
    expect(report.bytes).toBeGreaterThan(0);
    expect(report.findings).toEqual([]);
  });
});
