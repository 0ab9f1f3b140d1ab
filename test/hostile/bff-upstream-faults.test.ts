import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { secretsManagerClient } from '../../functions/adapters/aws-clients.ts';
import { SessionKeySource } from '../../functions/adapters/session-keys.ts';
import type { ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { REQUEST_BUDGET_MS } from '../../functions/core/deadline.ts';
import { seal, sealKey } from '../../functions/core/sealed-cookie.ts';
import type { Fault } from '../../local/aws-json-server.ts';
import type { Misbehaviour } from '../../local/resource-server.ts';
import {
  APP_URL,
  cleared,
  errorOf,
  SESSION,
  startBffStack,
  written,
  type BffAnswer,
  type BffRequest,
  type BffStack,
  type IdTokenOptions,
  type Session,
  type StartedLogin,
} from '../helpers/bff-lambda.ts';
import { CLIENT_ID, CLIENT_SECRET, UPSTREAM_TIMEOUT_MS } from '../helpers/harness.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';
import { captureOutput } from '../helpers/output.ts';
import type { Reply } from '../helpers/scripted-authorization-server.ts';

/**
 * The bff function (RFC 10017 6.1) against upstream faults, one row each, in the style of
 * test/hostile/token-upstream-faults.test.ts: the real Lambda handler built from its environment
 * (functions/bff/wiring.ts), API Gateway v2 events, the real AWS SDK against the wire-level KMS and
 * Secrets Manager stand-ins, a scripted authorization server (discovery, PAR, token, JWKS,
 * revocation) and a misbehaving API (local/resource-server.ts). Sessions are real: /par through the
 * handler, the state and nonce read from the request object the server received, the ID token signed
 * here with a key the server's JWKS publishes, /callback through the handler. Each row asserts the
 * answer, the one log line (status, error, Refused or UpstreamFailures, Upstream), the time taken, and
 * that the same container then serves a good request.
 */
const HANG_BUDGET = UPSTREAM_TIMEOUT_MS + 500;

let s: BffStack;
const leaks = createLeakCollector('keep');
let stopWatching: () => void = () => {};

beforeAll(async () => {
  s = await startBffStack(leaks);
  leaks.secret(CLIENT_SECRET);
});
afterAll(() => s?.close());
beforeEach(() => {
  s.behave();
  stopWatching = leaks.watch();
});
afterEach(() => stopWatching());

/** The request log line of one request, with what it must never carry checked later by the collector. */
async function logged(run: () => Promise<BffAnswer>): Promise<{ answer: BffAnswer; line: Record<string, unknown> }> {
  const output = captureOutput();
  const answer = await run().finally(() => output.restore());
  leaks.add(output.text());
  const lines = output.lines().filter((l) => l.message === 'request');
  expect(lines, 'one log line per request').toHaveLength(1);
  return { answer, line: lines[0]! };
}

/** The upstream a log line's Upstream dimension names (issue 11); `proxy` for the caller's or the proxy's own. */
type Upstream = 'kms' | 'secrets_manager' | 'authorization_server' | 'api' | 'proxy';

/**
 * The log line of a failure: its error and Reason, Refused for what the caller caused (below 500),
 * UpstreamFailures for what pages, by its own status (`errorStatus` when the answer was a redirect or a 200).
 */
function expectLogged(line: Record<string, unknown>, status: number, failure: { status: number; error: string; upstream: Upstream }): void {
  const metric = failure.status < 500 ? 'Refused' : 'UpstreamFailures';
  expect(line, 'the request log line').toMatchObject({ status, error: failure.error, Reason: failure.error, [metric]: 1, Upstream: failure.upstream });
  expect(line).not.toHaveProperty(metric === 'Refused' ? 'UpstreamFailures' : 'Refused');
  // A failure answered otherwise (a redirect, a 200) is counted by its own status.
  expect(line.errorStatus ?? status).toBe(failure.status);
  expect(line).not.toHaveProperty('exception');
  expect(line.level).toBe(failure.status >= 500 ? 'ERROR' : 'WARN');
}

describe('the real handler path (API Gateway v2, payload 2.0)', () => {
  it('a login answers its cookies in the result\'s cookies array, one Set-Cookie each, none merged', async () => {
    const first = await s.startLogin();
    // A second /par from the same browser: its own login cookie beside the first.
    const answer = await s.send(s.bff, { method: 'POST', path: '/par', body: '{"scope":"openid"}', cookies: [first.loginCookie] });
    expect(answer.status).toBe(201);
    expect(answer.headers).not.toHaveProperty('set-cookie');
    const login = await s.startLogin();
    await s.answerCode(login);
    const done = await s.callback(s.bff, login);
    expect(done.status).toBe(303);
    // The session written, the login cookie cleared: two cookies, two entries.
    expect(written(done)).toEqual([SESSION]);
    expect(cleared(done)).toEqual([login.loginCookie.split('=')[0]]);
    expect(done.setCookies).toHaveLength(2);
    expect(done.headers).not.toHaveProperty('set-cookie');
    for (const line of done.setCookies) expect(line).toMatch(/^__Host-bff-[^,]*; HttpOnly; Secure; SameSite=(?:Strict|Lax); Path=\/; Max-Age=\d+$/);
  });
});

/** The same container then serves a whole login: no poisoned cache, no stuck promise. */
async function recovers(handler: ApiGatewayHandler = s.bff): Promise<Session> {
  s.behave();
  return s.signIn(handler);
}

// ---------------------------------------------------------------------------------------------
// GET /callback

interface CallbackExpected {
  /** The `error` of the 303's Location. */
  readonly error: string;
  /** What the log line counts it as. */
  readonly failure: { readonly status: number; readonly error: string; readonly upstream: Upstream };
  readonly within?: number;
  /** Whether the code reached the token endpoint. */
  readonly redeemed: boolean;
}

/**
 * Every failed callback is a 303 to APP_URL (+ return_to) with error and error_description only
 * (BFF.md), no-store, no session written, the login cookie spent, and nothing of the code in the URL.
 */
async function callbackRow(handler: ApiGatewayHandler, login: StartedLogin, expected: CallbackExpected, params?: Record<string, string>): Promise<void> {
  const { answer, line } = await logged(() => s.callback(handler, login, params));
  expect(answer.status, answer.raw).toBe(303);
  const location = new URL(String(answer.headers.location));
  expect(`${location.origin}${location.pathname}`).toBe(APP_URL);
  expect([...location.searchParams.keys()].sort()).toEqual(['error', 'error_description']);
  expect(location.searchParams.get('error')).toBe(expected.error);
  expect(location.searchParams.get('error_description')).toMatch(/^[\x20-\x7e]{1,256}$/);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(written(answer), 'no session').toEqual([]);
  expect(cleared(answer), 'the login cookie spent').toEqual([login.loginCookie.split('=')[0]]);
  expect(answer.ms).toBeLessThan(expected.within ?? REQUEST_BUDGET_MS);
  expect(s.harness.as.count('token') > 0, 'the code redeemed').toBe(expected.redeemed);
  expectLogged(line, 303, expected.failure);
}

const AS = 'authorization_server';
const fromAs = (status: number, error: string) => ({ status, error, upstream: AS }) as const;

describe('GET /callback: the token endpoint fails (RFC 6749 5.2)', () => {
  it.each<[string, Reply, CallbackExpected]>([
    [
      '400 invalid_grant (a used or expired code): error=invalid_grant, Refused',
      { status: 400, body: { error: 'invalid_grant', error_description: 'grant request is invalid' } },
      { error: 'invalid_grant', failure: fromAs(400, 'invalid_grant'), redeemed: true },
    ],
    [
      '401 invalid_client, no other secret: error=invalid_client, UpstreamFailures (the proxy is misconfigured)',
      { status: 401, body: { error: 'invalid_client' } },
      { error: 'invalid_client', failure: fromAs(502, 'invalid_client'), redeemed: true },
    ],
    ['500: error=server_error, UpstreamFailures', { status: 500, body: { error: 'server_error' } }, { error: 'server_error', failure: fromAs(502, 'server_error'), redeemed: true }],
    ['200 HTML (garbage): error=server_error', { status: 200, body: '<html>login</html>' }, { error: 'server_error', failure: fromAs(502, 'server_error'), redeemed: true }],
    [
      '200 without an access token: error=server_error',
      { status: 200, body: { token_type: 'Bearer', id_token: 'x.y.z' } },
      { error: 'server_error', failure: fromAs(502, 'server_error'), redeemed: true },
    ],
    ['a connection reset: error=server_error', { reset: true }, { error: 'server_error', failure: fromAs(502, 'server_error'), redeemed: true }],
    [
      '429: error=temporarily_unavailable',
      { status: 429, body: '', headers: { 'retry-after': '7' } },
      { error: 'temporarily_unavailable', failure: fromAs(503, 'temporarily_unavailable'), redeemed: true },
    ],
    [
      'a hang: error=temporarily_unavailable within the per-call timeout',
      { hang: true },
      { error: 'temporarily_unavailable', failure: fromAs(504, 'temporarily_unavailable'), redeemed: true, within: HANG_BUDGET },
    ],
  ])('%s', async (_name, reply, expected) => {
    const login = await s.startLogin();
    s.harness.as.script('token', () => reply);
    await callbackRow(s.bff, login, expected);
    await recovers();
  });

  it('a token response without an ID token (OpenID Connect Core 3.1.3.3): error=invalid_id_token', async () => {
    const login = await s.startLogin();
    const issued = s.tokens();
    s.harness.as.script('token', () => ({ status: 200, body: { token_type: 'Bearer', ...issued } }));
    await callbackRow(s.bff, login, { error: 'invalid_id_token', failure: fromAs(502, 'invalid_id_token'), redeemed: true });
    await recovers();
  });
});

describe('GET /callback: the ID token does not verify (OpenID Connect Core 3.1.3.7)', () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  it.each<[string, (login: StartedLogin) => IdTokenOptions]>([
    ['another login\'s nonce (item 11)', () => ({ nonce: randomBytes(32).toString('base64url') })],
    ['another audience (item 3)', (login) => ({ nonce: login.nonce, claims: { aud: 'another-client' } })],
    ['another issuer (item 2)', (login) => ({ nonce: login.nonce, claims: { iss: 'https://evil.example/' } })],
    ['expired (item 9)', (login) => ({ nonce: login.nonce, expiresIn: -120 })],
    ['signed by a key the JWKS does not hold, under its kid (item 6)', (login) => ({ nonce: login.nonce, key: other.privateKey })],
  ])('%s: error=invalid_id_token, UpstreamFailures', async (_name, options) => {
    const login = await s.startLogin();
    await s.answerCode(login, s.tokens(), options(login));
    await callbackRow(s.bff, login, { error: 'invalid_id_token', failure: fromAs(502, 'invalid_id_token'), redeemed: true });
    await recovers();
  });
});

describe('GET /callback: the JWKS fails (a cold container fetches it)', () => {
  it.each<[string, Reply, CallbackExpected]>([
    ['503', { status: 503, body: 'down' }, { error: 'server_error', failure: fromAs(502, 'server_error'), redeemed: true }],
    ['200 garbage', { status: 200, body: 'not a key set' }, { error: 'server_error', failure: fromAs(502, 'server_error'), redeemed: true }],
    ['200 with a key set of garbage', { status: 200, body: { keys: 'none' } }, { error: 'server_error', failure: fromAs(502, 'server_error'), redeemed: true }],
    ['a connection reset', { reset: true }, { error: 'server_error', failure: fromAs(502, 'server_error'), redeemed: true }],
    [
      'a hang: within the per-call timeout',
      { hang: true },
      { error: 'temporarily_unavailable', failure: fromAs(504, 'temporarily_unavailable'), redeemed: true, within: HANG_BUDGET },
    ],
  ])('%s', async (_name, reply, expected) => {
    const cold = s.cold();
    const login = await s.startLogin(cold);
    await s.answerCode(login);
    s.harness.as.script('jwks', () => reply);
    await callbackRow(cold, login, expected);
    await recovers(cold);
  });

  it('200 without the ID token\'s key: error=invalid_id_token; refetched for an unknown kid at most once a minute (JWKS_REFETCH_INTERVAL_MS)', async () => {
    const cold = s.cold();
    const login = await s.startLogin(cold);
    await s.answerCode(login);
    s.harness.as.script('jwks', () => ({ status: 200, body: { keys: [] } }));
    await callbackRow(cold, login, { error: 'invalid_id_token', failure: fromAs(502, 'invalid_id_token'), redeemed: true });
    // The key set that was read stays cached: a forged kid cannot make every callback a JWKS fetch.
    s.behave();
    const again = await s.startLogin(cold);
    await s.answerCode(again);
    expect(errorOf(await s.callback(cold, again))).toBe('invalid_id_token');
    expect(s.harness.as.count('jwks')).toBe(0);
  });
});

const smFault = (fault: Fault) => () => fault;

describe('GET /callback: Secrets Manager fails while the login cookie is opened (a cold container loads the session keys)', () => {
  it.each<[string, Fault, CallbackExpected]>([
    [
      'throttled',
      { kind: 'error', type: 'ThrottlingException', status: 400 },
      { error: 'temporarily_unavailable', failure: { status: 503, error: 'temporarily_unavailable', upstream: 'secrets_manager' }, redeemed: false },
    ],
    [
      'down (5xx)',
      { kind: 'error', type: 'InternalServiceError', status: 500 },
      { error: 'temporarily_unavailable', failure: { status: 503, error: 'temporarily_unavailable', upstream: 'secrets_manager' }, redeemed: false },
    ],
    [
      'a hang: within the per-call timeout',
      { kind: 'hang' },
      { error: 'temporarily_unavailable', failure: { status: 504, error: 'temporarily_unavailable', upstream: 'secrets_manager' }, redeemed: false, within: HANG_BUDGET },
    ],
    [
      'access denied (misconfiguration)',
      { kind: 'error', type: 'AccessDeniedException', status: 400 },
      { error: 'server_error', failure: { status: 500, error: 'server_error', upstream: 'secrets_manager' }, redeemed: false },
    ],
  ])('%s', async (_name, fault, expected) => {
    const login = await s.startLogin();
    await s.answerCode(login);
    const cold = s.cold();
    s.harness.secretsManager.setFault(smFault(fault));
    await callbackRow(cold, login, expected);
    await recovers(cold);
  });
});

describe('GET /callback: what the browser or the authorization server sent', () => {
  it('no code: error=invalid_request, Refused, nothing redeemed', async () => {
    const login = await s.startLogin();
    await callbackRow(s.bff, login, { error: 'invalid_request', failure: { status: 400, error: 'invalid_request', upstream: 'proxy' }, redeemed: false }, { code: '' });
  });

  it('the authorization server\'s error=access_denied (RFC 6749 4.1.2.1): passed on, Refused, nothing redeemed', async () => {
    const login = await s.startLogin();
    await callbackRow(
      s.bff,
      login,
      { error: 'access_denied', failure: fromAs(400, 'access_denied'), redeemed: false },
      { code: '', error: 'access_denied', error_description: 'The end-user denied the request' },
    );
  });

  it('no login cookie (another browser\'s callback): error=login_required, Refused', async () => {
    const login = await s.startLogin();
    const { answer, line } = await logged(() => s.send(s.bff, { path: '/callback', query: `code=${s.unique('code')}&state=${login.state}&iss=${encodeURIComponent(s.harness.as.issuer)}`, js: false }));
    expect(errorOf(answer)).toBe('login_required');
    expectLogged(line, 303, { status: 400, error: 'login_required', upstream: 'proxy' });
    expect(s.harness.as.count('token')).toBe(0);
  });

  it('an iss of another server (RFC 9207 2.4): error=invalid_issuer, Refused, nothing redeemed', async () => {
    const login = await s.startLogin();
    await callbackRow(s.bff, login, { error: 'invalid_issuer', failure: { status: 400, error: 'invalid_issuer', upstream: 'proxy' }, redeemed: false }, { iss: 'https://evil.example/' });
  });
});

// ---------------------------------------------------------------------------------------------
// GET /session

/** A JSON error as the contract has it: exactly {error, error_description}, no-store, Retry-After where expected. */
function expectJsonError(answer: BffAnswer, status: number, error: string, retryAfter?: string): void {
  expect(answer.status, answer.raw).toBe(status);
  expect(Object.keys(answer.body).sort()).toEqual(['error', 'error_description']);
  expect(answer.body.error).toBe(error);
  expect(answer.body.error_description).toMatch(/^[\x20-\x7e]{1,256}$/);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.headers['retry-after']).toEqual(retryAfter);
}

/** The session cookie's value, changed as an attacker or a broken proxy on the way would. */
async function brokenSessions(cookie: string): Promise<[string, string[]][]> {
  const value = cookie.slice(SESSION.length + 1);
  const [header, , iv, ciphertext, tag] = value.split('.') as [string, string, string, string, string];
  const { kid } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid: string };
  const flip = (text: string, at: number) => `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
  const payload = { v: 1, iat: 1, exp: Math.floor(Date.now() / 1000) + 3600, claims: { sub: 'mallory' }, access_token: 'a', token_type: 'Bearer', expires_at: 2 ** 31 };
  const foreign = await sealKey(randomBytes(32));
  const sameKid = { kid, key: (await sealKey(randomBytes(32))).key };
  const login = (await s.startLogin()).loginCookie.split('=')[1]!;
  return [
    ['a ciphertext byte changed', [`${SESSION}=${header}..${iv}.${flip(ciphertext, 5)}.${tag}`]],
    ['the tag changed', [`${SESSION}=${header}..${iv}.${ciphertext}.${flip(tag, 0)}`]],
    ['truncated', [`${SESSION}=${value.slice(0, -10)}`]],
    ['sealed by another key (an unknown kid)', [`${SESSION}=${await seal(payload, 'session', { current: foreign })}`]],
    ['sealed by another key under this kid', [`${SESSION}=${await seal(payload, 'session', { current: sameKid })}`]],
    ['a login cookie\'s value (the other purpose)', [`${SESSION}=${login}`]],
    ['empty', [`${SESSION}=`]],
    ['chunks that do not add up', [`${SESSION}.0=${value.slice(0, 100)}`, `${SESSION}.1=${value.slice(100)}`]],
  ];
}

describe('GET /session', () => {
  it('a damaged session cookie: 200 authenticated:false and the cookies cleared, never a 5xx', async () => {
    const { cookie } = await s.signIn();
    for (const [what, cookies] of await brokenSessions(cookie)) {
      const { answer, line } = await logged(() => s.send(s.bff, { path: '/session', cookies }));
      expect(answer.status, what).toBe(200);
      expect(answer.body, what).toEqual({ authenticated: false });
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(cleared(answer).sort(), what).toEqual(cookies.map((pair) => pair.split('=')[0]!).sort());
      expect(line, what).toMatchObject({ status: 200 });
      expect(line).not.toHaveProperty('error');
    }
    // The real one still opens.
    expect((await s.send(s.bff, { path: '/session', cookies: [cookie] })).body).toMatchObject({ authenticated: true, claims: { sub: 'katherine.johnson' } });
  });

  it('an expired session (sealed with the real keys): authenticated:false and cleared', async () => {
    const keys = new SessionKeySource(secretsManagerClient({ timeoutMs: UPSTREAM_TIMEOUT_MS }), s.env.SESSION_KEYS_SECRET_ID!);
    const now = Math.floor(Date.now() / 1000);
    const sealed = await keys.seal({ v: 1, iat: now - 7200, exp: now - 1, claims: { sub: 'katherine.johnson' }, access_token: s.unique('access'), token_type: 'Bearer', expires_at: now - 3600 }, 'session', () => AbortSignal.timeout(1000));
    leaks.secret(sealed);
    const answer = await s.send(s.bff, { path: '/session', cookies: [`${SESSION}=${sealed}`] });
    expect(answer.body).toEqual({ authenticated: false });
    expect(cleared(answer)).toEqual([SESSION]);
  });

  it.each<[string, Fault, { status: number; retryAfter?: string; within?: number }]>([
    ['throttled', { kind: 'error', type: 'ThrottlingException', status: 400 }, { status: 503, retryAfter: '1' }],
    ['down (5xx)', { kind: 'error', type: 'InternalServiceError', status: 500 }, { status: 503, retryAfter: '1' }],
    ['a hang', { kind: 'hang' }, { status: 504, within: HANG_BUDGET }],
  ])('Secrets Manager %s on a cold container: the session is not dropped for it, and the SPA may retry', async (_name, fault, expected) => {
    const { cookie } = await s.signIn();
    const cold = s.cold();
    s.harness.secretsManager.setFault(smFault(fault));
    const { answer, line } = await logged(() => s.send(cold, { path: '/session', cookies: [cookie] }));
    expectJsonError(answer, expected.status, 'temporarily_unavailable', expected.retryAfter);
    expect(answer.setCookies, 'the session cookie kept').toEqual([]);
    expect(answer.ms).toBeLessThan(expected.within ?? REQUEST_BUDGET_MS);
    expectLogged(line, expected.status, { status: expected.status, error: 'temporarily_unavailable', upstream: 'secrets_manager' });
    s.harness.secretsManager.setFault(undefined);
    expect((await s.send(cold, { path: '/session', cookies: [cookie] })).body).toMatchObject({ authenticated: true });
  });

  it('Secrets Manager down, no session cookie: 200 authenticated:false without calling it', async () => {
    const cold = s.cold();
    s.harness.secretsManager.setFault(smFault({ kind: 'error', type: 'InternalServiceError', status: 500 }));
    const before = s.harness.calls();
    const answer = await s.send(cold, { path: '/session', cookies: ['theme=dark'] });
    expect(answer.body).toEqual({ authenticated: false });
    expect(answer.setCookies).toEqual([]);
    expect(s.harness.calls()).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------
// POST /logout

const logoutUrl = () => `${s.harness.as.issuer}session/end?client_id=${CLIENT_ID}&post_logout_redirect_uri=${encodeURIComponent(APP_URL)}`;

describe('POST /logout: the revocation endpoint fails (RFC 7009 2.2.1)', () => {
  it.each<[string, Reply, { status: number; error: string; within?: number }]>([
    ['503 (2.2.1: try again later)', { status: 503, body: '', headers: { 'retry-after': '5' } }, { status: 503, error: 'temporarily_unavailable' }],
    ['500', { status: 500, body: { error: 'server_error' } }, { status: 502, error: 'server_error' }],
    ['400 unsupported_token_type', { status: 400, body: { error: 'unsupported_token_type' } }, { status: 502, error: 'unsupported_token_type' }],
    ['401 invalid_client', { status: 401, body: { error: 'invalid_client' } }, { status: 502, error: 'invalid_client' }],
    ['a connection reset', { reset: true }, { status: 502, error: 'server_error' }],
    ['a hang: within the per-call timeout', { hang: true }, { status: 504, error: 'temporarily_unavailable', within: HANG_BUDGET }],
  ])('%s: 200 anyway, the cookies cleared, the failure logged and counted', async (_name, reply, failure) => {
    const session = await s.signIn();
    s.harness.as.script('revocation', () => reply);
    const { answer, line } = await logged(() => s.send(s.bff, { method: 'POST', path: '/logout', cookies: [session.cookie] }));
    expect(answer.status, answer.raw).toBe(200);
    expect(answer.body).toEqual({ logout_url: logoutUrl() });
    expect(cleared(answer)).toEqual([SESSION]);
    expect(written(answer)).toEqual([]);
    expect(answer.ms).toBeLessThan(failure.within ?? REQUEST_BUDGET_MS);
    const revoked = s.harness.as.requests.find((r) => r.endpoint === 'revocation')!.form;
    expect([revoked.get('token'), revoked.get('token_type_hint')]).toEqual([session.tokens.refresh_token, 'refresh_token']);
    expectLogged(line, 200, { ...failure, upstream: AS });
    await recovers();
  });

  it('revoked: 200, cookies cleared, nothing logged as a failure', async () => {
    const session = await s.signIn();
    const { answer, line } = await logged(() => s.send(s.bff, { method: 'POST', path: '/logout', cookies: [session.cookie] }));
    expect(answer.body).toEqual({ logout_url: logoutUrl() });
    expect(cleared(answer)).toEqual([SESSION]);
    expect(s.harness.as.count('revocation')).toBe(1);
    expect(line).not.toHaveProperty('error');
  });

  it('a discovery document without end_session_endpoint or revocation_endpoint: logout_url null, nothing revoked, no failure', async () => {
    const cold = s.cold();
    s.harness.as.script('discovery', () => s.discovery({ end_session_endpoint: undefined, revocation_endpoint: undefined }));
    const session = await s.signIn(cold);
    const { answer, line } = await logged(() => s.send(cold, { method: 'POST', path: '/logout', cookies: [session.cookie] }));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ logout_url: null });
    expect(cleared(answer)).toEqual([SESSION]);
    expect(s.harness.as.count('revocation')).toBe(0);
    expect(line).not.toHaveProperty('error');
  });

  it('no session: 200 with the logout_url, nothing revoked (idempotent)', async () => {
    const answer = await s.send(s.bff, { method: 'POST', path: '/logout' });
    expect(answer.body).toEqual({ logout_url: logoutUrl() });
    expect(s.harness.as.count('revocation')).toBe(0);
  });

  it('Secrets Manager down on a cold container: 200 anyway, the cookies cleared, the failure logged and counted', async () => {
    const session = await s.signIn();
    const cold = s.cold();
    s.harness.secretsManager.setFault(smFault({ kind: 'error', type: 'InternalServiceError', status: 500 }));
    const { answer, line } = await logged(() => s.send(cold, { method: 'POST', path: '/logout', cookies: [session.cookie] }));
    expect(answer.status, answer.raw).toBe(200);
    expect(answer.body).toEqual({ logout_url: logoutUrl() });
    expect(cleared(answer)).toEqual([SESSION]);
    expect(s.harness.as.count('revocation')).toBe(0);
    expectLogged(line, 200, { status: 503, error: 'temporarily_unavailable', upstream: 'secrets_manager' });
  });
});

// ---------------------------------------------------------------------------------------------
// ANY /api/{name}/...

interface ApiExpected {
  readonly status: number;
  /** Absent: the API's own answer, passed on, no failure of the proxy's. */
  readonly error?: string;
  readonly upstream?: Upstream;
  readonly within?: number;
}

async function apiRow(request: Partial<BffRequest>, cookie: string, expected: ApiExpected): Promise<BffAnswer> {
  const { answer, line } = await logged(() => s.send(s.bff, { path: '/api/demo/me', ...request, cookies: [...(request.cookies ?? []), cookie] }));
  expect(answer.ms).toBeLessThan(expected.within ?? REQUEST_BUDGET_MS);
  if (expected.error === undefined) {
    expect(answer.status, answer.raw).toBe(expected.status);
    expect(line).toMatchObject({ status: expected.status });
    expect(line).not.toHaveProperty('error');
    expect(line).not.toHaveProperty('Refused');
    expect(line).not.toHaveProperty('UpstreamFailures');
  } else {
    expectJsonError(answer, expected.status, expected.error, expected.status === 503 ? expect.any(String) : undefined);
    expectLogged(line, expected.status, { status: expected.status, error: expected.error, upstream: expected.upstream ?? 'proxy' });
  }
  // The API's cookies never reach the browser.
  expect(answer.setCookies.filter((setCookie) => !setCookie.startsWith('__Host-bff-'))).toEqual([]);
  return answer;
}

describe('ANY /api/{name}/...: the API misbehaves (RFC 10017 6.1.3.4)', () => {
  let session: Session;
  beforeEach(async () => {
    session = await s.signIn();
  });

  it.each<[string, Misbehaviour, ApiExpected]>([
    ['500: the API\'s own answer, passed on (not a failure of the proxy\'s)', { status: 500, headers: { 'content-type': 'application/json' }, body: '{"error":"boom"}' }, { status: 500 }],
    ['404: passed on', { status: 404, headers: { 'content-type': 'application/json' }, body: '{"error":"not_found"}' }, { status: 404 }],
    ['a hang: 504 within the per-call timeout', { hang: true }, { status: 504, error: 'temporarily_unavailable', upstream: 'api', within: HANG_BUDGET }],
    ['a connection reset: 502', { reset: true }, { status: 502, error: 'server_error', upstream: 'api' }],
    ['bytes that are not HTTP: 502', { garbage: true }, { status: 502, error: 'server_error', upstream: 'api' }],
    ['a redirect: 502, never followed nor passed on', { status: 302, headers: { location: 'https://evil.example/steal' } }, { status: 502, error: 'server_error', upstream: 'api' }],
    ['6 MiB: 502 (5 MiB at most)', { status: 200, headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(6 * 1024 * 1024) }, { status: 502, error: 'server_error', upstream: 'api' }],
  ])('%s', async (_name, misbehaviour, expected) => {
    s.api.misbehave(misbehaviour);
    const answer = await apiRow({}, session.cookie, expected);
    expect(answer.headers).not.toHaveProperty('location');
    if (expected.error === undefined) expect(answer.raw).toBe((misbehaviour as { body: string }).body);
    s.api.misbehave(undefined);
  });

  it('a Set-Cookie of the API\'s is never returned; what it answers is, with the access token sent and the browser\'s cookies not', async () => {
    s.api.misbehave({ status: 200, headers: { 'content-type': 'application/json', 'set-cookie': 'tracker=1; Path=/' }, body: '{"ok":true}' });
    const answer = await apiRow({ headers: { authorization: 'Bearer forged' }, cookies: ['other=1'] }, session.cookie, { status: 200 });
    expect(answer.body).toEqual({ ok: true });
    expect(answer.setCookies).toEqual([]);
    const received = s.api.requests.at(-1)!;
    expect(received.headers.authorization).toBe(`Bearer ${session.tokens.access_token}`);
    for (const header of ['cookie', 'x-csrf', 'origin']) expect(received.headers[header]).toBeUndefined();
  });

  it('a request body over 1 MiB: 413 before the API or the session is touched', async () => {
    const answer = await apiRow({ method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) }, session.cookie, { status: 413, error: 'invalid_request' });
    expect(answer.setCookies).toEqual([]);
    expect(s.api.requests).toEqual([]);
  });

  it('a method the upstream does not take: 405 with Allow (RFC 9110 15.5.6)', async () => {
    const answer = await apiRow({ method: 'POST', path: '/api/readonly/me', body: '{}' }, session.cookie, { status: 405, error: 'invalid_request' });
    expect(answer.headers.allow).toBe('GET');
    expect(s.api.requests).toEqual([]);
  });

  it('an unknown API: 404', async () => {
    await apiRow({ path: '/api/nope/me' }, session.cookie, { status: 404, error: 'invalid_request' });
    expect(s.api.requests).toEqual([]);
  });
});

describe('ANY /api/{name}/...: no session, or a refresh that fails (RFC 6749 6)', () => {
  it('no session: 401 login_required, counted as Refused', async () => {
    const { answer, line } = await logged(() => s.send(s.bff, { path: '/api/demo/me' }));
    expectJsonError(answer, 401, 'login_required');
    expectLogged(line, 401, { status: 401, error: 'login_required', upstream: 'proxy' });
    expect(s.api.requests).toEqual([]);
  });

  it('refresh due and refreshed: the API gets the new access token, the session cookie is rewritten', async () => {
    const session = await s.signIn(s.bff, s.tokens(10));
    const fresh = s.tokens();
    s.harness.as.script('token', () => ({ status: 200, body: { token_type: 'Bearer', ...fresh } }));
    s.api.misbehave({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
    const answer = await apiRow({}, session.cookie, { status: 200 });
    expect(written(answer)).toEqual([SESSION]);
    expect(s.api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${fresh.access_token}`);
    const refreshed = s.harness.as.requests.filter((r) => r.endpoint === 'token').at(-1)!.form;
    expect([refreshed.get('grant_type'), refreshed.get('refresh_token')]).toEqual(['refresh_token', session.tokens.refresh_token]);
  });

  it('refresh refused with invalid_grant: 401 login_required, the session cookie cleared, the API not called, counted as Refused', async () => {
    const session = await s.signIn(s.bff, s.tokens(10));
    s.harness.as.script('token', () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'grant request is invalid' } }));
    const { answer, line } = await logged(() => s.send(s.bff, { path: '/api/demo/me', cookies: [session.cookie] }));
    expectJsonError(answer, 401, 'login_required');
    expect(cleared(answer)).toEqual([SESSION]);
    expect(s.api.requests).toEqual([]);
    expectLogged(line, 401, { status: 401, error: 'login_required', upstream: AS });
  });

  it.each<[string, Reply, ApiExpected]>([
    ['500', { status: 500, body: { error: 'server_error' } }, { status: 502, error: 'server_error', upstream: AS }],
    ['200 garbage', { status: 200, body: '<html></html>' }, { status: 502, error: 'server_error', upstream: AS }],
    ['429', { status: 429, body: '', headers: { 'retry-after': '7' } }, { status: 503, error: 'temporarily_unavailable', upstream: AS }],
    ['a hang', { hang: true }, { status: 504, error: 'temporarily_unavailable', upstream: AS, within: HANG_BUDGET }],
  ])('refresh due and the token endpoint fails (%s): the session is kept for a retry, the API not called', async (_name, reply, expected) => {
    const session = await s.signIn(s.bff, s.tokens(10));
    s.harness.as.script('token', () => reply);
    const answer = await apiRow({}, session.cookie, expected);
    expect(answer.setCookies, 'the session cookie NOT cleared').toEqual([]);
    expect(s.api.requests).toEqual([]);
  });

  it('Secrets Manager down on a cold container: 503, the session kept', async () => {
    const session = await s.signIn();
    const cold = s.cold();
    s.harness.secretsManager.setFault(smFault({ kind: 'error', type: 'ThrottlingException', status: 400 }));
    const { answer, line } = await logged(() => s.send(cold, { path: '/api/demo/me', cookies: [session.cookie] }));
    expectJsonError(answer, 503, 'temporarily_unavailable', '1');
    expect(answer.setCookies).toEqual([]);
    expectLogged(line, 503, { status: 503, error: 'temporarily_unavailable', upstream: 'secrets_manager' });
  });
});

describe('each upstream\'s latency under its own name (issue 11)', () => {
  const SLOW_MS = 200;

  it('a cold /session with a slow Secrets Manager: SecretsManagerLatency has it; warm, no SecretsManagerLatency', async () => {
    const { cookie } = await s.signIn();
    const cold = s.cold();
    s.harness.secretsManager.setFault(() => ({ kind: 'delay', ms: SLOW_MS }));
    const { line: first } = await logged(() => s.send(cold, { path: '/session', cookies: [cookie] }));
    s.harness.secretsManager.setFault(undefined);
    expect(first).toMatchObject({ status: 200 });
    expect(first.SecretsManagerLatency).toBeGreaterThanOrEqual(SLOW_MS - 5);
    const { line: warm } = await logged(() => s.send(cold, { path: '/session', cookies: [cookie] }));
    expect(warm).not.toHaveProperty('SecretsManagerLatency');
  });

  it('a cold /callback with a slow JWKS: AuthorizationServerLatency has it, SecretsManagerLatency does not', async () => {
    const cold = s.cold();
    const login = await s.startLogin(cold);
    await s.answerCode(login);
    const jwks = s.harness.as.requests.length;
    s.harness.as.script('jwks', () => ({ delayMs: SLOW_MS, then: s.jwks() }));
    const { answer, line } = await logged(() => s.callback(cold, login));
    expect(answer.headers.location).toBe(APP_URL);
    expect(s.harness.as.requests.length - jwks).toBe(2); // the code redeemed, the JWKS read
    expect(line).toMatchObject({ status: 303, TokensIssued: 1 });
    expect(line.AuthorizationServerLatency).toBeGreaterThanOrEqual(SLOW_MS - 5);
    // The keys were loaded by /par on this container: no Secrets Manager call, no latency made up for it.
    expect(line).not.toHaveProperty('SecretsManagerLatency');
  });

  it('/api: the API\'s time is the line\'s upstreamMs.api', async () => {
    const { cookie } = await s.signIn();
    s.api.misbehave({ status: 200, headers: { 'content-type': 'application/json' }, body: '{}' });
    const { line } = await logged(() => s.send(s.bff, { path: '/api/demo/me', cookies: [cookie] }));
    expect(line).toMatchObject({ status: 200, upstreamMs: { api: expect.any(Number) } });
    expect(line).not.toHaveProperty('AuthorizationServerLatency');
  });
});

describe('nothing leaks', () => {
  it('no leaks: no client secret, session key, code, token, request object, cookie value or stack trace in any log line, Location or error body above', () => {
    stopWatching();
    const report = leaks.report();
    expect(report.answers).toBeGreaterThan(150);
    expect(report.requestLogLines).toBeGreaterThan(60);
    expect(report.findings).toEqual([]);
  });
});
