import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaHandler, type ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { jwksAppFromEnv } from '../../functions/jwks/wiring.ts';
import type { FakeKms } from '../../local/fake-kms.ts';
import { publicJwk } from '../../local/stack.ts';
import { expectFailure, invoke, startHarness, type Answer, type Harness } from '../helpers/harness.ts';
import { captureOutput } from '../helpers/output.ts';

/**
 * A JWKS (RFC 7517 5) that lists a key KMS will not read: disabled (a compromise's response),
 * pending deletion (the rotation's last step) or gone. The keys that can be read are published,
 * a key read before keeps its last good copy, each failure is logged and counted; only an active
 * key (one that signs) failing fails the answer, as any KMS failure does.
 */
const PATH = '/.well-known/jwks.json';
const TTL_MS = 60_000; // the JWKS containers' public key cache (functions/jwks/wiring.ts)
let harness: Harness;
let now = Date.UTC(2026, 10, 28);
const clock = () => now;

beforeAll(async () => {
  harness = await startHarness();
});
afterAll(() => harness?.close());

type Break = (kms: FakeKms, keyId: string) => void;
const BREAKS: readonly [string, string, Break][] = [
  ['disabled', 'DisabledException', (kms, keyId) => kms.setKeyState(keyId, 'Disabled')],
  ['pending deletion', 'KMSInvalidStateException', (kms, keyId) => kms.setKeyState(keyId, 'PendingDeletion')],
  ['missing', 'NotFoundException', (kms, keyId) => kms.deleteKey(keyId)],
];

/** A fresh JWKS container (a cold start) with these variables on top of the harness's. */
function container(env: Record<string, string>): ApiGatewayHandler {
  return lambdaHandler(jwksAppFromEnv({ ...harness.env, ...env }, clock));
}

async function get(jwks: ApiGatewayHandler): Promise<{ answer: Answer; lines: Record<string, unknown>[] }> {
  const output = captureOutput();
  const answer = await invoke(jwks, { method: 'GET', path: PATH, headers: {} }).finally(() => output.restore());
  return { answer, lines: output.lines() };
}

const kidOf = async (kms: FakeKms, keyId: string) => (await publicJwk(kms.publicKeyOf(keyId), 'PS256')).kid;
const kids = (answer: Answer) => (answer.body.keys as { kid: string }[]).map((key) => key.kid);
const getPublicKeyCalls = () => harness.kms.calls.get('GetPublicKey') ?? 0;

/** The one request line, with each failed key named and JwksKeyFailures in valid EMF. */
function expectKeyFailuresLogged(lines: Record<string, unknown>[], status: number, failures: Record<string, unknown>[]): void {
  expect(lines).toHaveLength(1);
  const [line] = lines;
  expect(line).toMatchObject({ message: 'request', service: 'jwks', route: PATH, status, level: status >= 500 ? 'ERROR' : 'WARN' });
  expect(line!.keyFailures).toEqual(failures);
  expect(line!.JwksKeyFailures).toBe(failures.length);
  const directives = (line!._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }).CloudWatchMetrics;
  const directive = directives.find((d) => d.Metrics.some((m) => m.Name === 'JwksKeyFailures'));
  expect(directive?.Dimensions).toEqual([['service']]);
}

describe('a published key KMS cannot read', () => {
  it.each(BREAKS)('%s, never read by this container: 200 with every readable key, the failed one logged and counted', async (_state, exception, breakKey) => {
    const next = harness.kms.createKey();
    const broken = harness.kms.createKey();
    const expected = [await kidOf(harness.kms, 'alias/par'), await kidOf(harness.kms, next.arn)];
    breakKey(harness.kms, broken.arn);
    const { answer, lines } = await get(container({ PUBLISHED_KMS_KEY_IDS: `${next.arn},${broken.arn}` }));
    expect(answer.status, answer.raw).toBe(200);
    expect(kids(answer)).toEqual(expected);
    expect(answer.headers['cache-control']).toBe('public, max-age=300');
    expectKeyFailuresLogged(lines, 200, [
      { index: 2, keyId: broken.arn, active: false, error: 'server_error', description: `KMS refused the call (${exception})`, lastGoodCopy: false },
    ]);
  });

  it.each(BREAKS)('%s after it was read: its last good copy is still published when the cache refreshes', async (_state, exception, breakKey) => {
    const published = harness.kms.createKey();
    const jwks = container({ PUBLISHED_KMS_KEY_IDS: published.arn });
    const first = await get(jwks);
    expect(first.answer.status).toBe(200);
    expect(kids(first.answer)).toEqual([await kidOf(harness.kms, 'alias/par'), await kidOf(harness.kms, published.arn)]);
    expect(first.lines).toEqual([]);

    breakKey(harness.kms, published.arn);
    now += TTL_MS + 1;
    const before = getPublicKeyCalls();
    const { answer, lines } = await get(jwks);
    // Both keys were asked for again; the failed one is served as it was last read.
    expect(getPublicKeyCalls() - before).toBe(2);
    expect(answer.status, answer.raw).toBe(200);
    expect(answer.body).toEqual(first.answer.body);
    expectKeyFailuresLogged(lines, 200, [
      { index: 1, keyId: published.arn, active: false, error: 'server_error', description: `KMS refused the call (${exception})`, lastGoodCopy: true },
    ]);
  });
});

describe('an active key KMS cannot read: the answer is that KMS failure', () => {
  it.each(BREAKS)('the request object key %s: 500 server_error, as before, and the line names it', async (_state, exception, breakKey) => {
    const active = harness.kms.createKey();
    const published = harness.kms.createKey();
    breakKey(harness.kms, active.arn);
    const jwks = container({ KMS_KEY_ID: active.arn, PUBLISHED_KMS_KEY_IDS: published.arn });
    const before = harness.calls();
    const { answer, lines } = await get(jwks);
    expectFailure(answer, before, harness.calls(), { status: 500, error: 'server_error', calls: { kms: 2 } });
    expect(answer.body.error_description).toBe(`KMS refused the call (${exception})`);
    expectKeyFailuresLogged(lines, 500, [
      { index: 0, keyId: active.arn, active: true, error: 'server_error', description: `KMS refused the call (${exception})`, lastGoodCopy: false },
    ]);
    expect(lines[0]).toMatchObject({ error: 'server_error', UpstreamFailures: 1, Reason: 'server_error' });
  });

  it('the client assertion key (private_key_jwt) disabled after it was read: 500, no last good copy', async () => {
    const assertion = harness.kms.createKey();
    const jwks = container({ CLIENT_ASSERTION_KMS_KEY_ID: assertion.arn });
    expect((await get(jwks)).answer.status).toBe(200);
    harness.kms.setKeyState(assertion.arn, 'Disabled');
    now += TTL_MS + 1;
    const before = harness.calls();
    const { answer, lines } = await get(jwks);
    expectFailure(answer, before, harness.calls(), { status: 500, error: 'server_error', calls: { kms: 2 } });
    expect(answer.body.error_description).toBe('KMS refused the call (DisabledException)');
    expect(lines[0]!.keyFailures).toEqual([
      { index: 1, keyId: assertion.arn, active: true, error: 'server_error', description: 'KMS refused the call (DisabledException)', lastGoodCopy: false },
    ]);
  });

  it('throttled: 503 with Retry-After after the SDK\'s three attempts; silent: 504; a published key alone failing is still 200', async () => {
    const active = harness.kms.createKey();
    const published = harness.kms.createKey();
    const env = { KMS_KEY_ID: active.arn, PUBLISHED_KMS_KEY_IDS: published.arn };
    const faultOn = (keyId: string, fault: { kind: 'error'; type: string; status: number } | { kind: 'hang' }) =>
      harness.kms.setFault((operation, input) => (operation === 'GetPublicKey' && input.KeyId === keyId ? fault : undefined));
    try {
      faultOn(active.arn, { kind: 'error', type: 'ThrottlingException', status: 400 });
      let before = harness.calls();
      const throttled = (await get(container(env))).answer;
      expectFailure(throttled, before, harness.calls(), { status: 503, error: 'temporarily_unavailable', retryAfter: '1', calls: { kms: 4 } });

      faultOn(active.arn, { kind: 'hang' });
      before = harness.calls();
      const silent = (await get(container(env))).answer;
      expectFailure(silent, before, harness.calls(), { status: 504, error: 'temporarily_unavailable', calls: { kms: 2 } });

      faultOn(published.arn, { kind: 'error', type: 'ThrottlingException', status: 400 });
      const { answer, lines } = await get(container(env));
      expect(answer.status).toBe(200);
      expect(kids(answer)).toEqual([await kidOf(harness.kms, active.arn)]);
      expect(lines[0]!.keyFailures).toEqual([
        { index: 1, keyId: published.arn, active: false, error: 'temporarily_unavailable', description: 'KMS is throttling requests', lastGoodCopy: false },
      ]);
    } finally {
      harness.kms.setFault(undefined);
    }
  });
});
