import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsManagerClient } from '../../functions/adapters/aws-clients.ts';
import { MISMATCH_RELOAD_MS, ORIGIN_SECRET_TTL_MS } from '../../functions/adapters/origin-secret.ts';
import { ORIGIN_REFUSED } from '../../functions/app/origin-verification.ts';
import { ORIGIN_VERIFY_HEADER } from '../../functions/core/origin-verify.ts';
import { fromEnv as jwksFromEnv } from '../../functions/jwks/wiring.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { validIntent } from '../helpers/harness.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';

/**
 * Issue 13: behind the edge every function refuses a request that does not carry the origin secret
 * CloudFront adds as x-origin-verify (infra/edge.ts), before any other work. Through the local stack:
 * the real handlers' apps over HTTP, the real AWS SDK against the wire-level Secrets Manager and KMS
 * stand-ins, and a real oidc-provider. AWSCURRENT and AWSPREVIOUS are accepted, so a rotation
 * (put-secret-value, then a deploy that sends the new value) refuses nothing.
 */
const leaks = createLeakCollector();
const lines: string[] = [];
const requestLog = (line: string) => {
  lines.push(line);
  leaks.add(line);
};

let relay: LocalStack;

beforeAll(async () => {
  relay = await startLocalStack({ originSecret: true, requestLog });
  leaks.secret(relay.originSecret);
});
afterAll(() => relay?.close());

const intent = (stack: LocalStack) => JSON.stringify({ ...validIntent(), redirect_uri: stack.redirectUri });

type Call = readonly [method: string, path: string, body?: (stack: LocalStack) => string];
const PAR: Call = ['POST', '/par', intent];
const TOKEN: Call = ['POST', '/token', () => JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' })];
const JWKS: Call = ['GET', '/.well-known/jwks.json'];

/** One request to the proxy, with `origin` as the x-origin-verify header unless undefined. */
async function call(stack: LocalStack, [method, path, body]: Call, origin?: string) {
  const response = await fetch(`${stack.proxyUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-csrf': '1', ...(origin === undefined ? {} : { [ORIGIN_VERIFY_HEADER]: origin }) },
    ...(body === undefined ? {} : { body: body(stack) }),
  });
  const raw = await response.text();
  leaks.answer({ status: response.status, headers: Object.fromEntries(response.headers), raw });
  return { status: response.status, body: JSON.parse(raw) as Record<string, unknown> };
}

/**
 * Remote calls made by `run`: KMS and Secrets Manager as their stand-ins received them, the
 * authorization server's as the requests' log lines timed them (its calls, discovery included).
 */
async function counted<T>(stack: LocalStack, run: () => Promise<T>) {
  const before = { kms: stack.kms.totalCalls(), sm: stack.secretsManager.totalCalls(), lines: lines.length };
  const result = await run();
  const timed = lines.slice(before.lines).map((line) => (JSON.parse(line) as { upstreamMs: Record<string, number> }).upstreamMs);
  return {
    result,
    calls: {
      kms: stack.kms.totalCalls() - before.kms,
      secretsManager: stack.secretsManager.totalCalls() - before.sm,
      authorizationServer: timed.filter((upstreamMs) => 'authorization_server' in upstreamMs).length,
    },
  };
}

const lastLine = () => JSON.parse(lines.at(-1)!) as Record<string, unknown>;
const putSecretValue = async (value: string) => {
  const put = await secretsManagerClient({ timeoutMs: 1000 }).send(new PutSecretValueCommand({ SecretId: relay.env.ORIGIN_SECRET_ID, SecretString: value }));
  return put.VersionId!;
};
/** A fresh value, to put or to send: either way it must never be logged or answered. */
const newValue = () => {
  const value = randomBytes(48).toString('base64url');
  leaks.secret(value);
  return value;
};

describe('relay functions behind the edge', () => {
  it.each([['par', PAR], ['token', TOKEN], ['jwks', JWKS]] as const)(
    '%s: no x-origin-verify header is 403 access_denied, with no remote call at all and a WARN line naming the reason',
    async (_name, route) => {
      relay.redeploy({});
      const { result, calls } = await counted(relay, () => call(relay, route));
      expect(result).toEqual({ status: 403, body: { error: 'access_denied', error_description: ORIGIN_REFUSED } });
      expect(calls).toEqual({ kms: 0, secretsManager: 0, authorizationServer: 0 });
      expect(lastLine()).toMatchObject({ level: 'WARN', status: 403, error: 'access_denied', errorDescription: 'the x-origin-verify header is missing' });
    },
  );

  it.each([['par', PAR], ['token', TOKEN], ['jwks', JWKS]] as const)(
    '%s: a wrong value is 403, reaching neither KMS nor the authorization server, and twenty more read the secret no more',
    async (_name, route) => {
      relay.redeploy({});
      const first = await counted(relay, () => call(relay, route, newValue()));
      expect(first.result).toEqual({ status: 403, body: { error: 'access_denied', error_description: ORIGIN_REFUSED } });
      // The cold container's load (AWSCURRENT, AWSPREVIOUS) and one reload in case the value was put since.
      expect(first.calls).toEqual({ kms: 0, secretsManager: 4, authorizationServer: 0 });
      expect(lastLine()).toMatchObject({ level: 'WARN', errorDescription: 'the x-origin-verify header is wrong' });
      const more = await counted(relay, async () => {
        for (let i = 0; i < 20; i += 1) expect((await call(relay, route, newValue())).status).toBe(403);
      });
      expect(more.calls).toEqual({ kms: 0, secretsManager: 0, authorizationServer: 0 });
    },
  );

  it('the right value passes: /par signs, pushes and answers 201; /token reaches the authorization server; the JWKS answers', async () => {
    relay.redeploy({});
    const par = await call(relay, PAR, relay.originSecret);
    expect(par.status).toBe(201);
    expect(par.body.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const token = await counted(relay, () => call(relay, TOKEN, relay.originSecret));
    expect(token.result).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(token.calls.authorizationServer).toBeGreaterThan(0);
    expect((await call(relay, JWKS, relay.originSecret)).status).toBe(200);
  });

  it('after put-secret-value the new and the previous value pass, in warm and new containers; after another, the oldest is refused', async () => {
    relay.redeploy({});
    const v1 = relay.originSecret!;
    expect((await call(relay, PAR, v1)).status).toBe(201);
    const v2 = newValue();
    await putSecretValue(v2);
    // The warm container has not seen v2: the mismatch reads the secret again.
    expect((await call(relay, PAR, v2)).status).toBe(201);
    expect((await call(relay, PAR, v1)).status).toBe(201);
    relay.redeploy({});
    expect((await call(relay, JWKS, v1)).status).toBe(200);
    expect((await call(relay, JWKS, v2)).status).toBe(200);
    const v3 = newValue();
    await putSecretValue(v3);
    relay.redeploy({});
    expect((await call(relay, JWKS, v3)).status).toBe(200);
    expect((await call(relay, JWKS, v2)).status).toBe(200);
    expect(await call(relay, JWKS, v1)).toEqual({ status: 403, body: { error: 'access_denied', error_description: ORIGIN_REFUSED } });
  });

  it(`a warm container reads the secret again on a mismatch at most every ${MISMATCH_RELOAD_MS / 1000} s, and every ${ORIGIN_SECRET_TTL_MS / 60_000} minutes anyway`, async () => {
    let now = Date.now();
    const { app } = jwksFromEnv(relay.env, () => now, requestLog);
    const get = async (origin: string) => {
      const response = await app.request('/.well-known/jwks.json', { headers: { [ORIGIN_VERIFY_HEADER]: origin } });
      leaks.answer({ status: response.status, headers: Object.fromEntries(response.headers), raw: await response.text() });
      return response;
    };
    const v = newValue();
    await putSecretValue(v);
    const warm = await counted(relay, async () => (await get(v)).status);
    expect(warm).toMatchObject({ result: 200, calls: { secretsManager: 2, authorizationServer: 0 } });
    const wrong = await counted(relay, async () => [(await get(newValue())).status, (await get(newValue())).status]);
    expect(wrong).toEqual({ result: [403, 403], calls: { kms: 0, secretsManager: 2, authorizationServer: 0 } });
    now += MISMATCH_RELOAD_MS - 1;
    expect((await counted(relay, async () => (await get(newValue())).status)).calls.secretsManager).toBe(0);
    now += 2;
    expect((await counted(relay, async () => (await get(newValue())).status)).calls.secretsManager).toBe(2);
    now += ORIGIN_SECRET_TTL_MS;
    expect(await counted(relay, async () => (await get(v)).status)).toMatchObject({ result: 200, calls: { secretsManager: 2 } });
  });
});

describe('cold start', () => {
  it('the prefetch during INIT loads the origin secret with the rest, so that the first request calls nothing', async () => {
    const wired = jwksFromEnv(relay.env, Date.now, requestLog);
    const loaded = await counted(relay, () => wired.prefetch());
    expect(loaded.calls).toMatchObject({ secretsManager: 2 });
    const current = await secretsManagerClient({ timeoutMs: 1000 }).send(new GetSecretValueCommand({ SecretId: relay.env.ORIGIN_SECRET_ID }));
    const first = await counted(relay, async () => (await wired.app.request('/.well-known/jwks.json', { headers: { [ORIGIN_VERIFY_HEADER]: current.SecretString! } })).status);
    expect(first).toEqual({ result: 200, calls: { kms: 0, secretsManager: 0, authorizationServer: 0 } });
  });
});

describe('the bff behind the edge', () => {
  let bff: LocalStack;
  beforeAll(async () => {
    bff = await startLocalStack({ mode: 'bff', originSecret: true, requestLog });
    leaks.secret(bff.originSecret);
  });
  afterAll(() => bff?.close());

  it('refuses GET /session without the header or with a wrong one, and answers it with the right one', async () => {
    const session: Call = ['GET', '/session'];
    const refused = { status: 403, body: { error: 'access_denied', error_description: ORIGIN_REFUSED } };
    expect(await call(bff, session)).toEqual(refused);
    expect(await call(bff, session, relay.originSecret)).toEqual(refused);
    expect(await call(bff, session, bff.originSecret)).toEqual({ status: 200, body: { authenticated: false } });
    expect(await call(bff, PAR)).toEqual(refused);
  });
});

describe('leaks', () => {
  it('no leaks: no origin secret value, sent or stored, in any log line or answer', () => {
    const report = leaks.report();
    expect(report.requestLogLines).toBeGreaterThan(50);
    expect(report.findings).toEqual([]);
  });
});
