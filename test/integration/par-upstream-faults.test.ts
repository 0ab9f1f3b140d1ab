import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiGatewayHandler } from '../../functions/app/lambda.ts';
import type { Fault } from '../../local/aws-json-server.ts';
import { captureOutput } from '../helpers/output.ts';
import {
  CLIENT_SECRET,
  expectFailure,
  invoke,
  startHarness,
  UPSTREAM_TIMEOUT_MS,
  validIntent,
  type Answer,
  type ExpectedFailure,
  type Harness,
} from '../helpers/harness.ts';
import type { Reply } from '../helpers/scripted-authorization-server.ts';

/**
 * Upstream faults, one row each, through the real AWS SDK against the wire-level KMS and Secrets
 * Manager stand-ins and a fault-injecting authorization server. Each row asserts the status, the
 * error, Retry-After, the upstream calls made and the time taken; and that the same warm
 * container answers the next good request (no poisoned cache, no stuck promise).
 */
let harness: Harness;
let par: ApiGatewayHandler;
const leaks: string[] = [];

beforeAll(async () => {
  harness = await startHarness();
  par = harness.coldPar();
  expect((await invoke(par, { body: validIntent() })).status).toBe(201);
});
afterAll(async () => {
  await harness.close();
});

type Expected = ExpectedFailure;
/** Which upstream the log line's Upstream dimension names (issue 11). */
type Upstream = 'kms' | 'secrets_manager' | 'authorization_server';

async function row(handler: ApiGatewayHandler, expected: Expected, upstream: Upstream): Promise<Answer> {
  const before = harness.calls();
  const output = captureOutput();
  const answer = await invoke(handler, { body: validIntent() }).finally(() => output.restore());
  leaks.push(output.text(), answer.raw);
  expectFailure(answer, before, harness.calls(), expected);
  // Issue 10: what the caller caused is Refused; only what pages (5xx) is an upstream failure.
  const line = output.lines().find((l) => l.message === 'request');
  const metric = expected.status < 500 ? 'Refused' : 'UpstreamFailures';
  expect(line, 'the request log line').toMatchObject({ status: expected.status, [metric]: 1, Reason: expected.error });
  expect(line).not.toHaveProperty(metric === 'Refused' ? 'UpstreamFailures' : 'Refused');
  // Issue 11: which upstream failed (or refused), not only the OAuth error code, which two upstreams can share.
  expect(line, 'the Upstream dimension').toMatchObject({ Upstream: upstream });
  return answer;
}

/** The request log lines of one successful /par, with its latency members. */
async function succeeds(handler: ApiGatewayHandler): Promise<Record<string, unknown>> {
  const output = captureOutput();
  const answer = await invoke(handler, { body: validIntent() }).finally(() => output.restore());
  leaks.push(output.text());
  expect(answer.status, answer.raw).toBe(201);
  const line = output.lines().find((l) => l.message === 'request');
  expect(line).toMatchObject({ status: 201, Pushed: 1 });
  return line!;
}

async function recovers(handler: ApiGatewayHandler = par): Promise<void> {
  harness.kms.setFault(undefined);
  harness.secretsManager.setFault(undefined);
  harness.as.reset();
  const answer = await invoke(handler, { body: validIntent() });
  expect(answer.status).toBe(201);
}

/** An OAuth error answer of the authorization server. */
const refusal = (status: number, error: string): Reply => ({ status, body: { error, error_description: `refused: ${error}` } });
const kmsAndPush = { kms: 1, as: 1 };

const asRows: [string, Reply, Expected][] = [
  // Issue 10: an answer is mapped by its error code, whatever its status. What the caller caused is
  // 400 with the server's error and description, counted as Refused, and never pages on-call.
  ...['invalid_request', 'invalid_scope', 'unsupported_response_mode', 'invalid_authorization_details', 'invalid_target'].flatMap(
    (error): [string, Reply, Expected][] => [
      [`400 ${error}: the caller's, 400 ${error}`, refusal(400, error), { status: 400, error, calls: kmsAndPush }],
      [`403 ${error} (Auth0 answers 403 to some): 400 ${error}`, refusal(403, error), { status: 400, error, calls: kmsAndPush }],
    ],
  ),
  ['400 invalid_request without a description: 400, a description of our own', { status: 400, body: { error: 'invalid_request' } }, { status: 400, error: 'invalid_request', calls: kmsAndPush }],
  ['413 invalid_request (too large for the server): 400', refusal(413, 'invalid_request'), { status: 400, error: 'invalid_request', calls: kmsAndPush }],
  // What means the proxy itself is misconfigured, and any code not listed, stays 502 and pages.
  ['400 invalid_request_object: 502', refusal(400, 'invalid_request_object'), { status: 502, error: 'invalid_request_object', calls: kmsAndPush }],
  ['400 unauthorized_client: 502', refusal(400, 'unauthorized_client'), { status: 502, error: 'unauthorized_client', calls: kmsAndPush }],
  ['400 invalid_redirect_uri: 502', refusal(400, 'invalid_redirect_uri'), { status: 502, error: 'invalid_redirect_uri', calls: kmsAndPush }],
  ['400 invalid_grant (not the caller\'s at the PAR endpoint): 502', refusal(400, 'invalid_grant'), { status: 502, error: 'invalid_grant', calls: kmsAndPush }],
  ['403 access_denied (not listed): 502', refusal(403, 'access_denied'), { status: 502, error: 'access_denied', calls: kmsAndPush }],
  ['400 with a code nobody lists: 502', refusal(400, 'something_new'), { status: 502, error: 'something_new', calls: kmsAndPush }],
  ['400 with a malformed error code: 502 server_error', { status: 400, body: { error: 'invalid_request"\r\nx: y' } }, { status: 502, error: 'server_error', calls: kmsAndPush }],
  ['413 without a body', { status: 413, body: '' }, { status: 502, error: 'server_error', calls: { kms: 1, as: 1 } }],
  [
    '429 with Retry-After (passed on)',
    { status: 429, body: { error: 'too_many_requests' }, headers: { 'retry-after': '7' } },
    { status: 503, error: 'temporarily_unavailable', retryAfter: '7', calls: { kms: 1, as: 1 } },
  ],
  ['500', { status: 500, body: { error: 'server_error' } }, { status: 502, error: 'server_error', calls: { kms: 1, as: 1 } }],
  ['503 HTML error page', { status: 503, body: '<html><body>Bad gateway</body></html>' }, { status: 502, error: 'server_error', calls: { kms: 1, as: 1 } }],
  ['200 HTML page', { status: 200, body: '<html>login</html>' }, { status: 502, error: 'server_error', calls: { kms: 1, as: 1 } }],
  ['201 without request_uri', { status: 201, body: { expires_in: 30 } }, { status: 502, error: 'server_error', calls: { kms: 1, as: 1 } }],
  ['201 with garbage', { status: 201, body: 'not json' }, { status: 502, error: 'server_error', calls: { kms: 1, as: 1 } }],
  // Reset on a pooled socket before any answer: pushed once more on a new one, as a server's idle close would need.
  ['a connection reset', { reset: true }, { status: 502, error: 'server_error', calls: { kms: 1, as: 2 } }],
  [
    'a hang',
    { hang: true },
    { status: 504, error: 'temporarily_unavailable', calls: { kms: 1, as: 1 }, within: UPSTREAM_TIMEOUT_MS + 500 },
  ],
];

describe('authorization server faults on the PAR push (RFC 9126 2.3)', () => {
  it.each(asRows)('%s', async (_name, reply, expected) => {
    harness.as.script('par', () => reply);
    const answer = await row(par, expected, 'authorization_server');
    // The server's own description, when it is within RFC 6749 5.2's characters.
    const sent = 'body' in reply && typeof reply.body === 'object' ? (reply.body as Record<string, unknown>).error_description : undefined;
    if (expected.error !== 'server_error' && sent !== undefined) expect(answer.body.error_description).toBe(sent);
    await recovers();
  });

  it('a slow but successful answer within the timeout is a success', async () => {
    harness.as.script('par', () => ({ delayMs: UPSTREAM_TIMEOUT_MS / 2, then: { status: 201, body: { request_uri: 'urn:x', expires_in: 30 } } }));
    const answer = await invoke(par, { body: validIntent() });
    expect(answer.status).toBe(201);
    expect(answer.body.request_uri).toBe('urn:x');
    await recovers();
  });

  it('401 invalid_client with no other secret to try: 502 invalid_client after one lookup, no second push (the proxy is misconfigured)', async () => {
    harness.as.script('par', () => ({ status: 401, body: { error: 'invalid_client' } }));
    // AWSCURRENT again (unchanged), then AWSPREVIOUS (none).
    await row(par, { status: 502, error: 'invalid_client', calls: { kms: 1, secretsManager: 2, as: 1 } }, 'authorization_server');
    await recovers();
  });
});

describe('client secret rotation', () => {
  // RFC 6749 5.2 lets a server answer 400 to a posted secret; issue 10: refusals are known by their code.
  it.each([
    [401, 'rotated-secret-0'],
    [400, 'rotated-secret-1'],
  ])('a rotated secret: %i invalid_client, the new secret fetched, one retry, success', async (status, rotated) => {
    const handler = harness.coldPar();
    await recovers(handler);
    harness.secretsManager.rotate('par/client', JSON.stringify({ client_secret: rotated }));
    harness.as.script('par', (_call, form) =>
      form.get('client_secret') === rotated ? undefined : { status, body: { error: 'invalid_client' } },
    );
    const before = harness.calls();
    const answer = await invoke(handler, { body: validIntent() });
    expect(answer.status).toBe(201);
    const after = harness.calls();
    expect([after.secretsManager - before.secretsManager, after.as - before.as]).toEqual([1, 2]);
  });

  it('a secret the authorization server does not accept yet: AWSPREVIOUS is tried, then kept for a while', async () => {
    harness.as.reset();
    harness.secretsManager.rotate('par/client', JSON.stringify({ client_secret: 'rotated-secret-2' }));
    const handler = harness.coldPar(); // caches rotated-secret-2, which Auth0 may take 30 s to accept
    harness.as.script('par', (_call, form) =>
      form.get('client_secret') === 'rotated-secret-1' ? undefined : { status: 401, body: { error: 'invalid_client' } },
    );
    const before = harness.calls();
    expect((await invoke(handler, { body: validIntent() })).status).toBe(201);
    const after = harness.calls();
    // GetSecretValue: the cold fetch, AWSCURRENT again, AWSPREVIOUS; discovery and two pushes.
    expect([after.secretsManager - before.secretsManager, after.as - before.as]).toEqual([3, 3]);
    expect((await invoke(handler, { body: validIntent() })).status).toBe(201);
    expect([harness.calls().secretsManager - after.secretsManager, harness.calls().as - after.as]).toEqual([0, 1]);
    harness.secretsManager.rotate('par/client', JSON.stringify({ client_secret: CLIENT_SECRET }));
    harness.as.reset();
  });
});

const kmsFault = (fault: Fault) => () => fault;

describe('KMS faults', () => {
  it('transient throttling is retried with backoff: success', async () => {
    let throttled = 0;
    harness.kms.setFault(() => (throttled++ === 0 ? { kind: 'error', type: 'ThrottlingException', status: 400 } : undefined));
    const before = harness.calls();
    expect((await invoke(par, { body: validIntent() })).status).toBe(201);
    expect(harness.calls().kms - before.kms).toBe(2);
    await recovers();
  });

  it.each<[string, Fault, Expected]>([
    ['persistent throttling', { kind: 'error', type: 'ThrottlingException', status: 400 }, { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { kms: 3 } }],
    ['5xx', { kind: 'error', type: 'KMSInternalException', status: 500 }, { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { kms: 3 } }],
    ['a hang', { kind: 'hang' }, { status: 504, error: 'temporarily_unavailable', calls: { kms: 1 }, within: UPSTREAM_TIMEOUT_MS + 500 }],
    [
      'a malformed signature',
      { kind: 'respond', status: 200, body: { KeyId: 'k', Signature: Buffer.from('short').toString('base64') } },
      { status: 502, error: 'server_error', calls: { kms: 1 } },
    ],
    ['access denied (misconfiguration)', { kind: 'error', type: 'AccessDeniedException', status: 400 }, { status: 500, error: 'server_error', calls: { kms: 1 } }],
  ])('%s', async (_name, fault, expected) => {
    harness.kms.setFault(kmsFault(fault));
    await row(par, expected, 'kms');
    await recovers();
  });
});

describe('Secrets Manager faults (a cold container fetches the secret)', () => {
  it.each<[string, Fault, Expected]>([
    ['throttled', { kind: 'error', type: 'ThrottlingException', status: 400 }, { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { kms: 2, secretsManager: 3, as: 1 } }],
    ['down (5xx)', { kind: 'error', type: 'InternalServiceError', status: 500 }, { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { kms: 2, secretsManager: 3, as: 1 } }],
    ['a hang', { kind: 'hang' }, { status: 504, error: 'temporarily_unavailable', calls: { kms: 2, secretsManager: 1, as: 1 }, within: UPSTREAM_TIMEOUT_MS + 500 }],
    ['secret missing', { kind: 'error', type: 'ResourceNotFoundException', status: 400 }, { status: 500, error: 'server_error', calls: { kms: 2, secretsManager: 1, as: 1 } }],
    [
      'secret malformed',
      { kind: 'respond', status: 200, body: { SecretString: '{"clientSecret": "wrong field"}' } },
      { status: 500, error: 'server_error', calls: { kms: 2, secretsManager: 1, as: 1 } },
    ],
  ])('%s', async (_name, fault, expected) => {
    const handler = harness.coldPar();
    harness.secretsManager.setFault(kmsFault(fault));
    // Cold: GetPublicKey and Sign, discovery, then the secret; the push is never made.
    await row(handler, expected, 'secrets_manager');
    await recovers(handler);
  });
});

describe('discovery', () => {
  it('unreachable at cold start: 502, not cached, the next request succeeds', async () => {
    const handler = harness.coldPar();
    harness.as.script('discovery', () => ({ status: 503, body: 'down' }));
    await row(handler, { status: 502, error: 'server_error', calls: { kms: 2, as: 1 } }, 'authorization_server');
    await recovers(handler);
  });

  it('a discovery document for another issuer is refused (OpenID Connect Discovery 4.3)', async () => {
    const handler = harness.coldPar();
    harness.as.script('discovery', () => ({ status: 200, body: { issuer: 'https://evil.example.com/' } }));
    await row(handler, { status: 500, error: 'server_error', calls: { kms: 2, as: 1 } }, 'authorization_server');
    await recovers(handler);
  });

  it('unreachable later: a warm container does not fetch it again', async () => {
    harness.as.script('discovery', () => ({ status: 503, body: 'down' }));
    const before = harness.calls();
    expect((await invoke(par, { body: validIntent() })).status).toBe(201);
    expect(harness.calls().as - before.as).toBe(1);
    harness.as.reset();
  });
});

describe('each upstream\'s latency under its own name (issue 11)', () => {
  const SLOW_MS = 200;
  const delayed = (): Fault => ({ kind: 'delay', ms: SLOW_MS });

  it('a cold /par with a slow Secrets Manager: SecretsManagerLatency has it, AuthorizationServerLatency does not', async () => {
    const handler = harness.coldPar();
    harness.secretsManager.setFault(delayed);
    const cold = await succeeds(handler).finally(() => harness.secretsManager.setFault(undefined));
    expect(cold.SecretsManagerLatency).toBeGreaterThanOrEqual(SLOW_MS - 5);
    expect(cold.AuthorizationServerLatency).toBeLessThan(SLOW_MS / 2);
    expect(cold.KmsLatency).toEqual(expect.any(Number));
    // Warm: the secret is cached (5 min), Secrets Manager is not called, and no latency is made up for it.
    const warm = await succeeds(handler);
    expect(warm).not.toHaveProperty('SecretsManagerLatency');
    expect(warm).toMatchObject({ KmsLatency: expect.any(Number), AuthorizationServerLatency: expect.any(Number) });
  });

  it('private_key_jwt with a slow KMS: the assertion\'s Sign is KmsLatency, not AuthorizationServerLatency', async () => {
    const handler = harness.coldPar({ CLIENT_AUTH_METHOD: 'private_key_jwt' });
    await succeeds(handler); // the kid, read once
    harness.kms.setFault(delayed);
    const before = harness.calls();
    const line = await succeeds(handler).finally(() => harness.kms.setFault(undefined));
    expect(harness.calls().kms - before.kms, 'two Signs: the request object and the client assertion').toBe(2);
    expect(line.KmsLatency).toBeGreaterThanOrEqual(2 * SLOW_MS - 10);
    expect(line.AuthorizationServerLatency).toBeLessThan(SLOW_MS / 2);
    expect(line).not.toHaveProperty('SecretsManagerLatency');
  });
});

describe('nothing leaks', () => {
  it('no secret, request object or stack trace in any log line or answer above', () => {
    const all = leaks.join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const secret of [CLIENT_SECRET, 'rotated-secret-0', 'rotated-secret-1', 'rotated-secret-2']) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/); // a compact JWS
    expect(all).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // a stack frame
  });
});
