import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiGatewayHandler } from '../../functions/app/lambda.ts';
import type { Fault } from '../../local/aws-json-server.ts';
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
import { createLeakCollector } from '../helpers/leak-collector.ts';
import type { Reply } from '../helpers/scripted-authorization-server.ts';

/**
 * The /par fault rows that test/integration/par-upstream-faults.test.ts (the main matrix, not
 * repeated here) does not have: faults at cold start while the kid is read (KMS GetPublicKey),
 * concurrent cold starts against a hanging upstream (single flight, no stuck promise), discovery
 * hanging or broken, and push answers with a bad expires_in or request_uri. Same row contract:
 * status, error, Retry-After, upstream calls, time; then the same container answers a good request.
 */
let harness: Harness;
let par: ApiGatewayHandler;
const leaks = createLeakCollector('keep');
let stopWatching: () => void = () => {};
const HANG_BUDGET = UPSTREAM_TIMEOUT_MS + 500;

beforeAll(async () => {
  harness = await startHarness();
  leaks.secret(CLIENT_SECRET);
  par = harness.coldPar();
  const stop = leaks.watch();
  const warm = await call(par).finally(stop);
  expect(warm.status).toBe(201);
});
afterAll(() => harness?.close());
beforeEach(() => {
  stopWatching = leaks.watch();
});
afterEach(() => stopWatching());

async function call(handler: ApiGatewayHandler): Promise<Answer> {
  const pushed = harness.as.requests.length;
  const answer = await invoke(handler, { body: validIntent() });
  for (const request of harness.as.requests.slice(pushed)) leaks.secret(request.form.get('request'));
  leaks.answer(answer);
  return answer;
}

type Expected = ExpectedFailure;

async function row(handler: ApiGatewayHandler, expected: Expected): Promise<void> {
  const before = harness.calls();
  expectFailure(await call(handler), before, harness.calls(), expected);
}

async function recovers(handler: ApiGatewayHandler): Promise<void> {
  harness.kms.setFault(undefined);
  harness.secretsManager.setFault(undefined);
  harness.as.reset();
  const answer = await call(handler);
  expect(answer.status, answer.raw).toBe(201);
}

const onlyGetPublicKey = (fault: Fault) => (operation: string) => (operation === 'GetPublicKey' ? fault : undefined);

describe('KMS faults at cold start, while the kid is read (GetPublicKey)', () => {
  it.each<[string, Fault, Expected]>([
    ['throttled', { kind: 'error', type: 'ThrottlingException', status: 400 }, { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { kms: 3 } }],
    ['5xx', { kind: 'error', type: 'KMSInternalException', status: 500 }, { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { kms: 3 } }],
    ['a hang', { kind: 'hang' }, { status: 504, error: 'temporarily_unavailable', calls: { kms: 1 }, within: HANG_BUDGET }],
    ['the key missing (misconfiguration)', { kind: 'error', type: 'NotFoundException', status: 400 }, { status: 500, error: 'server_error', calls: { kms: 1 } }],
    [
      'a key that cannot sign PS256 (misconfiguration)',
      { kind: 'respond', status: 200, body: { KeyId: 'k', KeyUsage: 'ENCRYPT_DECRYPT', PublicKey: '', SigningAlgorithms: [] } },
      { status: 500, error: 'server_error', calls: { kms: 1 } },
    ],
    [
      'a malformed public key',
      { kind: 'respond', status: 200, body: { KeyId: 'k', KeyUsage: 'SIGN_VERIFY', PublicKey: Buffer.from('not DER').toString('base64'), SigningAlgorithms: ['RSASSA_PSS_SHA_256'] } },
      { status: 502, error: 'server_error', calls: { kms: 1 } },
    ],
  ])('%s: nothing is signed or pushed', async (_name, fault, expected) => {
    const handler = harness.coldPar();
    harness.kms.setFault(onlyGetPublicKey(fault));
    await row(handler, expected);
    await recovers(handler);
  });

  it('concurrent cold requests during a GetPublicKey hang share one call, all answer 504 in time, and the next succeeds', async () => {
    const handler = harness.coldPar();
    harness.kms.setFault(onlyGetPublicKey({ kind: 'hang' }));
    const before = harness.calls();
    const answers = await Promise.all([call(handler), call(handler), call(handler), call(handler)]);
    for (const answer of answers) expectFailure(answer, before, harness.calls(), { status: 504, error: 'temporarily_unavailable', calls: { kms: 1 }, within: HANG_BUDGET });
    await recovers(handler);
  });
});

describe('discovery at cold start', () => {
  it('hanging: 504 within the per-call timeout, not cached, the next request succeeds', async () => {
    const handler = harness.coldPar();
    harness.as.script('discovery', () => ({ hang: true }));
    // Cold: GetPublicKey and Sign happen before the push needs the endpoint.
    await row(handler, { status: 504, error: 'temporarily_unavailable', calls: { kms: 2, as: 1 }, within: HANG_BUDGET });
    await recovers(handler);
  });

  it('a document whose PAR endpoint is not https: 500 server_error, nothing pushed', async () => {
    const handler = harness.coldPar();
    harness.as.script('discovery', () => ({
      status: 200,
      body: { issuer: harness.as.issuer, authorization_endpoint: `${harness.as.issuer}authorize`, pushed_authorization_request_endpoint: 'ftp://evil.example/par' },
    }));
    await row(handler, { status: 500, error: 'server_error', calls: { kms: 2, as: 1 } });
    harness.as.reset();
  });

  it(
    'a discovery document without a PAR endpoint is not kept: once it is fixed, the same container recovers',
    async () => {
      const handler = harness.coldPar();
      harness.as.script('discovery', () => ({ status: 200, body: { issuer: harness.as.issuer, authorization_endpoint: `${harness.as.issuer}authorize` } }));
      expect((await call(handler)).status).toBe(500);
      await recovers(handler);
    },
  );
});

describe('push answers that are not usable', () => {
  it.each<[string, Reply]>([
    ['201 with expires_in 0', { status: 201, body: { request_uri: 'urn:ietf:params:oauth:request_uri:x', expires_in: 0 } }],
    ['201 with expires_in as a string', { status: 201, body: { request_uri: 'urn:ietf:params:oauth:request_uri:x', expires_in: '60' } }],
    ['201 without expires_in', { status: 201, body: { request_uri: 'urn:ietf:params:oauth:request_uri:x' } }],
    ['201 with an empty request_uri', { status: 201, body: { request_uri: '', expires_in: 60 } }],
    ['201 with a request_uri over 2 KiB', { status: 201, body: { request_uri: `urn:ietf:params:oauth:request_uri:${'x'.repeat(2100)}`, expires_in: 60 } }],
    ['200 instead of 201', { status: 200, body: { request_uri: 'urn:ietf:params:oauth:request_uri:x', expires_in: 60 } }],
    ['a 302 redirect', { status: 302, body: '', headers: { location: 'https://evil.example/' } }],
    ['401 with a malformed error code', { status: 401, body: { error: 'invalid_client\r\nSet-Cookie: a=b' } }],
    ['over 256 KiB', { status: 201, body: { request_uri: 'urn:ietf:params:oauth:request_uri:x', expires_in: 60, padding: 'p'.repeat(300 * 1024) } }],
  ])('%s: 502 server_error', async (_name, reply) => {
    harness.as.script('par', () => reply);
    await row(par, { status: 502, error: 'server_error', calls: { kms: 1, as: 1 } });
    await recovers(par);
  });
});

describe('nothing leaks', () => {
  it('no leaks: no client secret, request object or stack trace in any log line or answer above', () => {
    const report = leaks.report();
    expect(report.requestLogLines).toBeGreaterThan(20);
    expect(report.findings).toEqual([]);
  });
});
