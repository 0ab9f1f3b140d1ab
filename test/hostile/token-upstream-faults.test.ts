import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaHandler, type ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { tokenAppFromEnv } from '../../functions/token/wiring.ts';
import type { Fault } from '../../local/aws-json-server.ts';
import { type Answer, CLIENT_SECRET, type ExpectedFailure, expectFailure, type Harness, invoke, startHarness, UPSTREAM_TIMEOUT_MS } from '../helpers/harness.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';
import { captureOutput } from '../helpers/output.ts';
import type { Reply } from '../helpers/scripted-authorization-server.ts';

/**
 * POST /token against upstream faults, one row each, in the style of
 * test/integration/par-upstream-faults.test.ts (which covers /par): the real handler built from the
 * environment, the real AWS SDK against the wire-level Secrets Manager stand-in, and a
 * fault-injecting authorization server. Each row asserts the status, the OAuth error, Retry-After,
 * the upstream calls made, the time taken; and that the same container answers the next good
 * request (no poisoned cache, no stuck promise).
 */
const MARK = randomBytes(6).toString('hex');
const ROTATED = [`rotated-token-secret-1-${MARK}`, `rotated-token-secret-2-${MARK}`];
const SECRET_NAME = 'par/client';

let harness: Harness;
let token: ApiGatewayHandler;
const leaks = createLeakCollector('keep');
let stopWatching: () => void = () => {};

const coldToken = (): ApiGatewayHandler => lambdaHandler(tokenAppFromEnv({ ...harness.env }));
const codeRequest = () => ({
  grant_type: 'authorization_code',
  code: `authz-code-${MARK}-${randomBytes(8).toString('hex')}`,
  code_verifier: `verifier${MARK}${randomBytes(24).toString('base64url')}`,
  redirect_uri: harness.env.ALLOWED_REDIRECT_URIS!,
});

beforeAll(async () => {
  harness = await startHarness();
  leaks.secret(CLIENT_SECRET, ...ROTATED, `authz-code-${MARK}`, `verifier${MARK}`, `refresh-token-${MARK}`);
  token = coldToken();
  const stop = leaks.watch();
  const warm = await call(token).finally(stop);
  expect(warm.status, warm.raw).toBe(200);
});
afterAll(() => harness?.close());
beforeEach(() => {
  stopWatching = leaks.watch();
});
afterEach(() => stopWatching());

async function call(handler: ApiGatewayHandler, body: Record<string, unknown> = codeRequest()): Promise<Answer> {
  const answer = await invoke(handler, { path: '/token', body });
  leaks.answer(answer, { tokensByDesign: answer.status === 200 });
  return answer;
}

type Expected = ExpectedFailure;
/** Which upstream the log line's Upstream dimension names (issue 11). */
type Upstream = 'kms' | 'secrets_manager' | 'authorization_server';

async function row(handler: ApiGatewayHandler, expected: Expected, upstream: Upstream, body?: Record<string, unknown>): Promise<Answer> {
  const before = harness.calls();
  const output = captureOutput();
  const answer = await call(handler, body).finally(() => output.restore());
  leaks.add(output.text());
  expectFailure(answer, before, harness.calls(), expected);
  // Issue 10: what the caller caused is Refused; only what pages (5xx) is an upstream failure.
  const metric = expected.status < 500 ? 'Refused' : 'UpstreamFailures';
  const line = output.lines().find((l) => l.message === 'request');
  expect(line, 'the request log line').toMatchObject({ status: expected.status, [metric]: 1, Reason: expected.error });
  expect(line).not.toHaveProperty(metric === 'Refused' ? 'UpstreamFailures' : 'Refused');
  // Issue 11: which upstream failed (or refused): a Secrets Manager throttle and a 429 are both temporarily_unavailable.
  expect(line, 'the Upstream dimension').toMatchObject({ Upstream: upstream });
  return answer;
}

/** The same container answers the next good request. */
async function recovers(handler: ApiGatewayHandler = token): Promise<void> {
  harness.secretsManager.setFault(undefined);
  harness.as.reset();
  const answer = await call(handler);
  expect(answer.status, answer.raw).toBe(200);
  expect(answer.body.access_token).toEqual(expect.any(String));
}

const HANG_BUDGET = UPSTREAM_TIMEOUT_MS + 500;

const asRows: [string, Reply, Expected][] = [
  [
    '400 invalid_grant (a wrong PKCE verifier, a used or expired code): 400 with its error',
    { status: 400, body: { error: 'invalid_grant', error_description: 'grant request is invalid' } },
    { status: 400, error: 'invalid_grant', calls: { as: 1 } },
  ],
  ['400 invalid_request: 400 with its error', { status: 400, body: { error: 'invalid_request' } }, { status: 400, error: 'invalid_request', calls: { as: 1 } }],
  ['400 without an OAuth error (an HTML page): 502', { status: 400, body: '<html>Bad Request</html>' }, { status: 502, error: 'server_error', calls: { as: 1 } }],
  [
    '400 with a malformed error code (quotes, CR LF): 502, nothing of it passed on',
    { status: 400, body: { error: 'invalid_grant"\r\nSet-Cookie: a=b', error_description: 'x' } },
    { status: 502, error: 'server_error', calls: { as: 1 } },
  ],
  // Issue 10: mapped by the error code, whatever the status. The caller's own: 400, counted as Refused.
  [
    '403 invalid_grant (Auth0: an expired refresh token): 400 invalid_grant',
    { status: 403, body: { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' } },
    { status: 400, error: 'invalid_grant', calls: { as: 1 } },
  ],
  ['403 invalid_request: 400 with its error', { status: 403, body: { error: 'invalid_request' } }, { status: 400, error: 'invalid_request', calls: { as: 1 } }],
  ['400 invalid_scope: 400 with its error', { status: 400, body: { error: 'invalid_scope' } }, { status: 400, error: 'invalid_scope', calls: { as: 1 } }],
  // The proxy misconfigured, or a code not listed: 502, and it pages.
  ['403 access_denied (not listed): 502 with its error', { status: 403, body: { error: 'access_denied' } }, { status: 502, error: 'access_denied', calls: { as: 1 } }],
  ['400 unauthorized_client: 502 with its error', { status: 400, body: { error: 'unauthorized_client' } }, { status: 502, error: 'unauthorized_client', calls: { as: 1 } }],
  ['400 unsupported_grant_type: 502 with its error', { status: 400, body: { error: 'unsupported_grant_type' } }, { status: 502, error: 'unsupported_grant_type', calls: { as: 1 } }],
  [
    '429 with Retry-After: 503 temporarily_unavailable, its Retry-After passed on',
    { status: 429, body: { error: 'too_many_requests' }, headers: { 'retry-after': '7' } },
    { status: 503, error: 'temporarily_unavailable', retryAfter: '7', calls: { as: 1 } },
  ],
  ['429 without Retry-After: 503, Retry-After 1', { status: 429, body: '' }, { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { as: 1 } }],
  [
    '429 with an HTTP-date Retry-After: 503, Retry-After 1 (delta-seconds only)',
    { status: 429, body: '', headers: { 'retry-after': 'Wed, 21 Oct 2037 07:28:00 GMT' } },
    { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { as: 1 } },
  ],
  [
    '429 with a huge Retry-After: 503, capped at an hour',
    { status: 429, body: '', headers: { 'retry-after': '999999' } },
    { status: 503, error: 'temporarily_unavailable', retryAfter: '3600', calls: { as: 1 } },
  ],
  ['500 with an OAuth error: 502 server_error', { status: 500, body: { error: 'server_error' } }, { status: 502, error: 'server_error', calls: { as: 1 } }],
  ['503 HTML error page: 502 server_error', { status: 503, body: '<html><body>Service Unavailable</body></html>' }, { status: 502, error: 'server_error', calls: { as: 1 } }],
  ['200 HTML page: 502 server_error', { status: 200, body: '<html>login</html>' }, { status: 502, error: 'server_error', calls: { as: 1 } }],
  [
    '200 without access_token: 502 server_error',
    { status: 200, body: { token_type: 'Bearer', expires_in: 3600, id_token: 'x.y.z' } },
    { status: 502, error: 'server_error', calls: { as: 1 } },
  ],
  ['200 without token_type: 502 server_error', { status: 200, body: { access_token: `access-token-${MARK}` } }, { status: 502, error: 'server_error', calls: { as: 1 } }],
  ['200 with a JSON array: 502 server_error', { status: 200, body: [{ access_token: 'a', token_type: 'Bearer' }] }, { status: 502, error: 'server_error', calls: { as: 1 } }],
  [
    '200 over 256 KiB: 502 server_error',
    { status: 200, body: { access_token: `access-token-${MARK}`, token_type: 'Bearer', padding: 'p'.repeat(300 * 1024) } },
    { status: 502, error: 'server_error', calls: { as: 1 } },
  ],
  ['a connection reset: 502 server_error', { reset: true }, { status: 502, error: 'server_error', calls: { as: 1 } }],
  ['a hang: 504 within the per-call timeout', { hang: true }, { status: 504, error: 'temporarily_unavailable', calls: { as: 1 }, within: HANG_BUDGET }],
];

describe('authorization server faults on the token endpoint (RFC 6749 5.2)', () => {
  it.each(asRows)('%s', async (_name, reply, expected) => {
    harness.as.script('token', () => reply);
    await row(token, expected, 'authorization_server');
    await recovers();
  });

  it('a refresh_token refused with invalid_grant: 400 with its error', async () => {
    harness.as.script('token', () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'refresh token expired' } }));
    await row(token, { status: 400, error: 'invalid_grant', calls: { as: 1 } }, 'authorization_server', { grant_type: 'refresh_token', refresh_token: `refresh-token-${MARK}-1` });
    await recovers();
  });

  it('a slow but successful answer within the timeout is a success', async () => {
    harness.as.script('token', () => ({
      delayMs: UPSTREAM_TIMEOUT_MS / 2,
      then: { status: 200, body: { access_token: `access-token-${MARK}-slow`, token_type: 'Bearer', expires_in: 60 } },
    }));
    const answer = await call(token);
    expect(answer.status).toBe(200);
    expect(answer.body.access_token).toBe(`access-token-${MARK}-slow`);
    expect(answer.ms).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS / 2 - 50);
    await recovers();
  });
});

describe('client secret rotation on the token endpoint', () => {
  const refuseAllBut = (accepted: string | undefined) => (_call: number, form: URLSearchParams): Reply | undefined =>
    accepted !== undefined && form.get('client_secret') === accepted ? undefined : { status: 401, body: { error: 'invalid_client' } };

  // Issue 10: invalid_client after the rotation retry means the proxy is misconfigured: 502, it pages
  // (it was passed on as 401, which the SPA cannot fix).
  it('401 invalid_client with no other secret to try: 502 invalid_client after one lookup, no second request', async () => {
    harness.as.script('token', refuseAllBut(undefined));
    // AWSCURRENT again (unchanged), then AWSPREVIOUS (there is none yet).
    await row(token, { status: 502, error: 'invalid_client', calls: { secretsManager: 2, as: 1 } }, 'authorization_server');
    await recovers();
  });

  it('a rotated secret: 401 invalid_client, the new secret read, one retry, 200', async () => {
    harness.secretsManager.rotate(SECRET_NAME, JSON.stringify({ client_secret: ROTATED[0] }));
    harness.as.script('token', refuseAllBut(ROTATED[0]));
    const before = harness.calls();
    const answer = await call(token);
    expect(answer.status, answer.raw).toBe(200);
    const after = harness.calls();
    expect([after.secretsManager - before.secretsManager, after.as - before.as]).toEqual([1, 2]);
    // The new secret is kept: the next request goes straight through.
    expect((await call(token)).status).toBe(200);
    expect([harness.calls().secretsManager - after.secretsManager, harness.calls().as - after.as]).toEqual([0, 1]);
  });

  it('a rotated secret refused as well: 502 invalid_client after exactly one retry', async () => {
    harness.secretsManager.rotate(SECRET_NAME, JSON.stringify({ client_secret: ROTATED[1] }));
    harness.as.script('token', refuseAllBut(undefined));
    await row(token, { status: 502, error: 'invalid_client', calls: { secretsManager: 1, as: 2 } }, 'authorization_server');
    await recovers();
  });

  it('a secret the authorization server does not accept yet: AWSPREVIOUS is tried, then kept', async () => {
    // Secrets Manager has ROTATED[1] current and ROTATED[0] previous; the server still knows only ROTATED[0].
    const cold = coldToken();
    harness.as.reset();
    harness.as.script('token', refuseAllBut(ROTATED[0]));
    const before = harness.calls();
    expect((await call(cold)).status).toBe(200);
    const after = harness.calls();
    // Discovery, the cold secret read, a refused request, AWSCURRENT again, AWSPREVIOUS, the retry.
    expect([after.secretsManager - before.secretsManager, after.as - before.as]).toEqual([3, 3]);
    expect((await call(cold)).status).toBe(200);
    expect([harness.calls().secretsManager - after.secretsManager, harness.calls().as - after.as]).toEqual([0, 1]);
    harness.secretsManager.rotate(SECRET_NAME, JSON.stringify({ client_secret: CLIENT_SECRET }));
    await recovers(cold);
  });
});

const smFault = (fault: Fault) => () => fault;

describe('Secrets Manager faults (a cold container reads the secret)', () => {
  it.each<[string, Fault, Expected]>([
    ['throttled', { kind: 'error', type: 'ThrottlingException', status: 400 }, { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { secretsManager: 3, as: 1 } }],
    ['down (5xx)', { kind: 'error', type: 'InternalServiceError', status: 500 }, { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { secretsManager: 3, as: 1 } }],
    ['a hang', { kind: 'hang' }, { status: 504, error: 'temporarily_unavailable', calls: { secretsManager: 1, as: 1 }, within: HANG_BUDGET }],
    ['secret missing', { kind: 'error', type: 'ResourceNotFoundException', status: 400 }, { status: 500, error: 'server_error', calls: { secretsManager: 1, as: 1 } }],
    ['access denied', { kind: 'error', type: 'AccessDeniedException', status: 400 }, { status: 500, error: 'server_error', calls: { secretsManager: 1, as: 1 } }],
    [
      'secret malformed',
      { kind: 'respond', status: 200, body: { SecretString: '{"clientSecret": "wrong field"}' } },
      { status: 500, error: 'server_error', calls: { secretsManager: 1, as: 1 } },
    ],
  ])('%s', async (_name, fault, expected) => {
    const handler = coldToken();
    harness.secretsManager.setFault(smFault(fault));
    // Cold: discovery, then the secret; the token request is never made.
    await row(handler, expected, 'secrets_manager');
    await recovers(handler);
  });

  it('concurrent cold requests during a hang share one Secrets Manager call; all answer 504 in time; the next succeeds', async () => {
    const handler = coldToken();
    harness.secretsManager.setFault(smFault({ kind: 'hang' }));
    const before = harness.calls();
    const answers = await Promise.all([call(handler), call(handler), call(handler)]);
    expect(answers.map((a) => a.status)).toEqual([504, 504, 504]);
    for (const answer of answers) expect(answer.ms).toBeLessThan(HANG_BUDGET);
    expect(harness.calls().secretsManager - before.secretsManager).toBe(1); // single-flight
    await recovers(handler);
  });
});

describe('each upstream\'s latency under its own name (issue 11)', () => {
  it('a cold /token with a slow Secrets Manager: SecretsManagerLatency has it, AuthorizationServerLatency does not; warm, no SecretsManagerLatency', async () => {
    const SLOW_MS = 200;
    const handler = coldToken();
    const lineOf = async () => {
      const output = captureOutput();
      const answer = await call(handler).finally(() => output.restore());
      leaks.add(output.text());
      expect(answer.status, answer.raw).toBe(200);
      return output.lines().find((l) => l.message === 'request')!;
    };
    harness.secretsManager.setFault(() => ({ kind: 'delay', ms: SLOW_MS }));
    const cold = await lineOf().finally(() => harness.secretsManager.setFault(undefined));
    expect(cold).toMatchObject({ TokensIssued: 1 });
    expect(cold.SecretsManagerLatency).toBeGreaterThanOrEqual(SLOW_MS - 5);
    expect(cold.AuthorizationServerLatency).toBeLessThan(SLOW_MS / 2);
    const warm = await lineOf();
    expect(warm).not.toHaveProperty('SecretsManagerLatency');
    expect(warm).toMatchObject({ AuthorizationServerLatency: expect.any(Number) });
    expect(warm).not.toHaveProperty('KmsLatency');
  });
});

describe('discovery', () => {
  it('unreachable at cold start: 502, not cached, the next request succeeds', async () => {
    const handler = coldToken();
    harness.as.script('discovery', () => ({ status: 503, body: 'down' }));
    await row(handler, { status: 502, error: 'server_error', calls: { as: 1 } }, 'authorization_server');
    await recovers(handler);
  });

  it('hanging at cold start: 504 within the per-call timeout, the next request succeeds', async () => {
    const handler = coldToken();
    harness.as.script('discovery', () => ({ hang: true }));
    await row(handler, { status: 504, error: 'temporarily_unavailable', calls: { as: 1 }, within: HANG_BUDGET }, 'authorization_server');
    await recovers(handler);
  });

  it('a discovery document without a token_endpoint: 500 server_error, no secret read, no token request', async () => {
    const handler = coldToken();
    harness.as.script('discovery', () => ({ status: 200, body: { issuer: harness.as.issuer } }));
    await row(handler, { status: 500, error: 'server_error', calls: { as: 1 } }, 'authorization_server');
    harness.as.reset();
  });

  it(
    'a discovery document without a token_endpoint is not kept: once it is fixed, the same container recovers',
    async () => {
      const handler = coldToken();
      harness.as.script('discovery', () => ({ status: 200, body: { issuer: harness.as.issuer } }));
      expect((await call(handler)).status).toBe(500);
      await recovers(handler);
    },
  );

  it('unreachable later: a warm container does not fetch it again', async () => {
    harness.as.script('discovery', () => ({ status: 503, body: 'down' }));
    const before = harness.calls();
    expect((await call(token)).status).toBe(200);
    expect(harness.calls().as - before.as).toBe(1);
    harness.as.reset();
  });
});

describe('nothing leaks', () => {
  it('no leaks: no client secret, code, verifier, token or stack trace in any log line or error answer above', () => {
    const report = leaks.report();
    expect(report.answers).toBeGreaterThan(50);
    expect(report.requestLogLines).toBeGreaterThan(50);
    expect(report.findings).toEqual([]);
  });
});
