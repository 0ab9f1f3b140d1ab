import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { getCookie } from 'hono/cookie';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaHandler, type ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { jsonLineTelemetry } from '../../functions/app/observability.ts';
import { proxyApp } from '../../functions/app/proxy-app.ts';
import { apiEvent, lambdaContext } from '../helpers/events.ts';
import { CLIENT_SECRET, startHarness, validIntent, type Harness } from '../helpers/harness.ts';
import { expectRefusal, jsonHeaders, recorded } from '../helpers/hostile.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';

/**
 * Events API Gateway (HTTP API, payload format 2.0) can send that hono's aws-lambda adapter cannot
 * turn into a Request, through the real Lambda handler: `event.cookies` entries that are not an
 * RFC 6265 4.1.1 cookie-pair (the adapter answered a plain-text 400 and logged a stack trace quoting
 * the cookie), and a base64 body that is not RFC 4648 4 base64 (`atob` threw: a 500 and a stack
 * trace). A malformed cookie is dropped, logged by name only, and the request answered as usual; a
 * malformed body is a JSON 400 invalid_request, logged and counted. Nothing is written to stderr.
 */
let harness: Harness;
let par: ApiGatewayHandler;
/** A tiny app in the proxy's frame that answers the cookies it was given. */
let echo: ApiGatewayHandler;
const leaks = createLeakCollector('keep');

beforeAll(async () => {
  harness = await startHarness();
  leaks.secret(CLIENT_SECRET);
  par = harness.coldPar();
  const app = proxyApp({ telemetry: jsonLineTelemetry('cookie-echo'), clock: Date.now });
  app.get('/cookies', (c) => c.json(getCookie(c)));
  echo = lambdaHandler(app);
});
afterAll(() => harness?.close());

interface Sent {
  readonly status: number;
  readonly headers: Record<string, string | number | boolean>;
  readonly body: Record<string, unknown>;
  readonly raw: string;
  readonly ms: number;
  /** The JSON log lines written during the invocation. */
  readonly lines: Record<string, unknown>[];
  readonly stdout: string;
  readonly stderr: string;
}

/** One event through a handler, with stdout, stderr and console.* captured apart (vitest's console bypasses process.stderr). */
async function invoke(handler: ApiGatewayHandler, event: ReturnType<typeof apiEvent>): Promise<Sent> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => ((chunk: unknown) => (into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8')), true)) as typeof process.stdout.write;
  const saved = { out: process.stdout.write, err: process.stderr.write, console: { ...console } };
  process.stdout.write = sink(out);
  process.stderr.write = sink(err);
  for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) console[m] = (...args: unknown[]) => void err.push(args.map(String).join(' '));
  const started = performance.now();
  let result: Exclude<APIGatewayProxyResultV2, string>;
  try {
    result = (await handler(event, lambdaContext)) as Exclude<APIGatewayProxyResultV2, string>;
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    Object.assign(console, saved.console);
  }
  const raw = result.body ?? '';
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    body = { unparsable: raw };
  }
  const stdout = out.join('');
  const stderr = err.join('');
  leaks.add(stdout + stderr);
  const sent = {
    status: result.statusCode ?? 0,
    headers: result.headers ?? {},
    body,
    raw,
    ms: performance.now() - started,
    lines: stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    stdout,
    stderr,
  };
  recorded(leaks, sent);
  return sent;
}

/** Every cookie value below holds this marker: it must never reach a log line. */
const V = 'v4lue';

describe('event.cookies (RFC 6265 4.1.1: cookie-pair = token "=" ( *cookie-octet / DQUOTE *cookie-octet DQUOTE ))', () => {
  const cookieEvent = (cookies: string[]) => ({ ...apiEvent({ method: 'GET', path: '/cookies' }), cookies });

  it.each<[string, string[], Record<string, string>, string[] | undefined]>([
    ['well-formed pairs, quoted and empty values', [`__Host-bff=${V}.1-2_3`, `q="${V}"`, 'e='], { '__Host-bff': `${V}.1-2_3`, q: V, e: '' }, undefined],
    ['NUL in a value, among good ones', [`good=${V}1`, `a=${V}\u0000b`, `other="${V}2"`], { good: `${V}1`, other: `${V}2` }, ['a']],
    ['CR LF in a value (header injection)', [`a=${V}\r\nx: 1`, `good=${V}`], { good: V }, ['a']],
    ['a code point above 0xff', [`a=${V}€`], {}, ['a']],
    ['a value that would smuggle a second pair once joined with "; "', [`a=${V}; admin=1`], {}, ['a']],
    ['a comma, a backslash, a space, an unbalanced DQUOTE, DEL', [`c=${V},x`, `b=${V}\\x`, `s=${V} x`, `u="${V}`, `d=${V}\u007f`], {}, ['c', 'b', 's', 'u', 'd']],
    ['a name that is not a token, or too long to echo, is logged as a placeholder', [`a b=${V}`, `x\u001b]52;c;${V}\u0007=1`, `${'n'.repeat(65)}=${V}\u0000`, `${'m'.repeat(65)}=${V}`], { ['m'.repeat(65)]: V }, ['a cookie', 'a cookie', 'a cookie']],
    ['no "=" at all: the entry, maybe a value, is never logged', [`${V}-without-name`, `ok=${V}`], { ok: V }, ['a cookie']],
  ])('%s', async (_, cookies, reached, dropped) => {
    const answer = await invoke(echo, cookieEvent(cookies));
    expect(answer.status, answer.raw).toBe(200);
    expect(answer.body).toEqual(reached);
    expect(answer.lines).toHaveLength(1);
    expect(answer.lines[0]).toMatchObject({ message: 'request', route: '/cookies', status: 200 });
    expect(answer.lines[0]!.droppedCookies).toEqual(dropped);
    expect(answer.stdout).not.toContain(V);
    expect(answer.stderr).toBe('');
  });

  it('logs at most 10 dropped names, however many entries were malformed', async () => {
    const answer = await invoke(echo, cookieEvent(Array.from({ length: 40 }, (_, i) => `n${i}=${V}\u0000`)));
    expect(answer.status).toBe(200);
    expect(answer.lines[0]!.droppedCookies).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
    expect(answer.stderr).toBe('');
  });

  it('POST /par with a malformed cookie among good ones is answered as usual; the log line names the cookie, never a value', async () => {
    const event = { ...apiEvent({ headers: jsonHeaders(), body: JSON.stringify(validIntent()) }), cookies: [`foreign=${V}1`, `a=${V}\r\nx: 1`, `b=${V}€`] };
    const answer = await invoke(par, event);
    expect(answer.status, answer.raw).toBe(201);
    expect(answer.lines).toHaveLength(1);
    expect(answer.lines[0]).toMatchObject({ route: '/par', status: 201, success: 'Pushed', droppedCookies: ['a', 'b'] });
    expect(answer.stdout).not.toContain(V);
    expect(answer.stderr).toBe('');
  });
});

describe('a base64 body (isBase64Encoded, RFC 4648 4: groups of 4, padding only at the end)', () => {
  const body = JSON.stringify(validIntent());
  const base64Event = (encoded: string) => apiEvent({ headers: jsonHeaders(), body: encoded, isBase64Encoded: true });

  it.each(['e', '=', '==', 'abc', 'ab=c', 'YQ', 'YQ=', 'YQ===', '====', 'YWJj=', 'YW Jj', 'YWJj\n', '-_-_', `${Buffer.from(body).toString('base64')}A`])(
    '%j: a JSON 400 invalid_request with no-store, logged and counted as Refused, nothing upstream',
    async (encoded) => {
      const before = harness.calls();
      const answer = await invoke(par, base64Event(encoded));
      expectRefusal(answer, 400);
      expect(answer.body.error_description).toBe('the body is not valid base64');
      expect(harness.calls()).toEqual(before);
      expect(answer.lines).toHaveLength(1);
      expect(answer.lines[0]).toMatchObject({ level: 'WARN', route: '/par', status: 400, error: 'invalid_request', Refused: 1, Reason: 'invalid_request' });
      expect(answer.stderr).toBe('');
    },
  );

  // Trailing spaces vary the length mod 3, so that the encodings end in no, one and two "=".
  it.each([0, 1, 2])('a valid intent whose encoding ends in %i "=": 201 as usual', async (padding) => {
    const encoded = [0, 1, 2].map((spaces) => Buffer.from(body + ' '.repeat(spaces)).toString('base64')).find((e) => /[^=]=*$/.exec(e)![0].length - 1 === padding)!;
    const answer = await invoke(par, base64Event(encoded));
    expect(answer.status, answer.raw).toBe(201);
    expect(answer.lines[0]).toMatchObject({ status: 201, success: 'Pushed' });
    expect(answer.stderr).toBe('');
  });

  it('valid base64 of an invalid intent gets the intent refusal, not the base64 one', async () => {
    const answer = await invoke(par, base64Event(Buffer.from('{}').toString('base64')));
    expectRefusal(answer, 400);
    expect(answer.body.error_description).not.toBe('the body is not valid base64');
    expect(answer.stderr).toBe('');
  });
});

describe('this file', () => {
  it('no leaks: no secret, cookie value or stack trace in anything logged or answered', () => {
    const report = leaks.report();
    expect(report.requestLogLines).toBeGreaterThan(20);
    expect(report.findings).toEqual([]);
  });
});
