import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaHandler, type ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { fromEnv } from '../../functions/bff/wiring.ts';
import { bffEvent, realisticSession, sealWithDeployedKeys, startCountingApi, type CountingApi } from '../helpers/bff-fixtures.ts';
import { lambdaContext } from '../helpers/events.ts';
import { CLIENT_ID, ORIGIN, startHarness, type Harness } from '../helpers/harness.ts';

/**
 * Issue 12's "no remote call" claims, tested rather than only benchmarked: a warm bff container
 * (RFC 10017 6.1) answers GET /session from the sealed cookie alone, forwards an API call with the
 * one request to the API (RFC 6750 2.1), and makes the token endpoint's refresh (RFC 6749 6) the
 * only other call when the access token is due. Counted at the wire-level KMS and Secrets Manager
 * stand-ins, the scripted authorization server and an API on 127.0.0.1, through the Lambda handler.
 */
let harness: Harness;
let api: CountingApi;
let handler: ApiGatewayHandler;
let session: string;
let dueSession: string;

beforeAll(async () => {
  harness = await startHarness();
  api = await startCountingApi();
  const keys = harness.secretsManager.createSecret('bff/session-keys', randomBytes(32).toString('base64url'));
  const { ALLOWED_REDIRECT_URIS: _relayOnly, ...env } = harness.env;
  handler = lambdaHandler(
    fromEnv({
      ...env,
      PROXY_MODE: 'bff',
      REDIRECT_URI: `${ORIGIN}/callback`,
      SESSION_KEYS_SECRET_ID: keys.arn,
      API_UPSTREAMS: JSON.stringify({ orders: api.url }),
    }).app,
  );
  const now = Math.floor(Date.now() / 1000);
  const seal = (expiresIn: number) =>
    sealWithDeployedKeys(harness.secretsManager.url, keys.arn, realisticSession(harness.as.issuer, CLIENT_ID, now, expiresIn), 'session');
  [session, dueSession] = await Promise.all([seal(3600), seal(10)]);
});
afterAll(async () => {
  await api?.close();
  await harness?.close();
});

interface Counted {
  readonly result: APIGatewayProxyStructuredResultV2;
  readonly calls: Record<string, number>;
}

const counts = () => ({
  kms: harness.kms.totalCalls(),
  secretsManager: harness.secretsManager.totalCalls(),
  token: harness.as.count('token'),
  otherAs: harness.as.requests.length - harness.as.count('token'),
  api: api.count(),
});

/** One invocation, and the remote calls it made, by upstream (zeros left out). */
async function counted(event: APIGatewayProxyEventV2): Promise<Counted> {
  const before = counts();
  const result = (await handler(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
  const after = counts();
  const calls = Object.fromEntries(
    Object.entries(after)
      .map(([name, value]) => [name, value - before[name as keyof typeof before]] as const)
      .filter(([, delta]) => delta !== 0),
  );
  return { result, calls };
}

const sessionEvent = (cookie: string) => bffEvent({ method: 'GET', path: '/session', origin: ORIGIN, cookies: [`__Host-bff-session=${cookie}`] });
const apiCall = (cookie: string) =>
  bffEvent({ method: 'GET', path: '/api/orders/v1/orders', query: 'limit=10', origin: ORIGIN, cookies: [`__Host-bff-session=${cookie}`] });

describe('remote calls of a warm bff container', () => {
  beforeAll(async () => {
    // The cold start's work, done once: key ring, client secret, discovery (what prefetch loads in Lambda).
    expect((await counted(sessionEvent(session))).result.statusCode).toBe(200);
    expect((await counted(apiCall(dueSession))).result.statusCode).toBe(200);
  });

  it('GET /session answers from the sealed cookie: no remote call at all (RFC 10017 6.1.3.3)', async () => {
    const { result, calls } = await counted(sessionEvent(session));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({ authenticated: true, claims: { sub: 'auth0|65f1c0ffee5d3b2a9c8e7f61' } });
    expect(calls).toEqual({});
  });

  it('an API call with a fresh access token: exactly one call, to the API, with the bearer token (RFC 6750 2.1)', async () => {
    const { result, calls } = await counted(apiCall(session));
    expect(result.statusCode).toBe(200);
    expect(calls).toEqual({ api: 1 });
    expect(api.lastAuthorization()).toMatch(/^Bearer eyJ/);
    expect(result.cookies ?? []).toEqual([]);
  });

  it('an API call with the access token due: the token endpoint (RFC 6749 6) and the API, nothing else; the new session sealed into the answer', async () => {
    const { result, calls } = await counted(apiCall(dueSession));
    expect(result.statusCode).toBe(200);
    expect(calls).toEqual({ token: 1, api: 1 });
    expect(api.lastAuthorization()).toMatch(/^Bearer at-\d+$/);
    expect(result.cookies?.some((cookie) => cookie.startsWith('__Host-bff-session=ey'))).toBe(true);
  });
});
