import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionKeySource } from '../../functions/adapters/session-keys.ts';
import { dpopJkt, dpopProof, newDpopKey, type DpopKey } from '../../functions/core/dpop-proof.ts';
import { FAKE_REGION } from '../../local/fake-kms.ts';
import type { ReceivedRequest } from '../../local/resource-server.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { BffBrowser, type BffAnswer } from '../helpers/bff-browser.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';

/**
 * DPoP (RFC 9449) in bff mode, end to end: the bff function built from its environment with
 * DPOP=true, the real oidc-provider with DPoP-bound tokens and server nonces required, and a
 * resource server that checks DPoP as section 7 asks (proof, its own nonce, replay, the token's
 * cnf.jkt by introspection). Access tokens live 20 s, so every API call also refreshes (with a proof).
 */
const leaks = createLeakCollector('keep');
let stopWatching: () => void = () => {};
beforeAll(() => {
  const stop = leaks.watch();
  stopWatching = () => {
    stopWatching = () => {};
    stop();
  };
});
afterAll(() => stopWatching());

/**
 * Today's server, and the FAPI 2.0 one (local/fapi2.ts: private_key_jwt, PS256, JARM, iss) with the
 * proxy under SECURITY_PROFILE=fapi2, which implies DPOP (issue 14: the flows against both).
 */
describe.each([
  { server: 'oidc-provider', fapi2: false },
  { server: 'the FAPI 2.0 server (SECURITY_PROFILE=fapi2)', fapi2: true },
])('against $server', ({ fapi2 }) => {
  let stack: LocalStack;
  let sessionKeys: SessionKeySource;
  /** The token endpoint's outcomes, as oidc-provider reports them. */
  const grants: { readonly type: string; readonly proof: boolean; readonly error?: string; readonly detail?: string }[] = [];

  beforeAll(async () => {
    grants.length = 0;
    stack = await startLocalStack({ mode: 'bff', dpop: true, accessTokenTtl: 20, ...(fapi2 ? { profile: 'fapi2' as const } : {}) });
    leaks.secret(stack.clientSecret);
    const { provider } = stack.authorizationServer;
    const record = (ctx: { oidc: { params?: Record<string, unknown> }; get(name: string): string }, error?: { error?: string; error_detail?: string }) =>
      grants.push({
        type: String(ctx.oidc.params?.grant_type),
        proof: ctx.get('DPoP') !== '',
        ...(error === undefined ? {} : { error: String(error.error), detail: String(error.error_detail) }),
      });
    provider.on('grant.success', (ctx) => record(ctx as never));
    provider.on('grant.error', (ctx, error) => record(ctx as never, error as never));
    const client = new SecretsManagerClient({ region: FAKE_REGION, endpoint: stack.secretsManager.url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    sessionKeys = new SessionKeySource(client, stack.env.SESSION_KEYS_SECRET_ID!);
  }, 30_000);

  afterAll(async () => {
    // The tokens and proofs the API received are secrets for the leak check that closes the file.
    for (const request of stack?.resourceServer.requests ?? []) sent(request);
    await stack?.close();
  });

  const browser = () => new BffBrowser(stack.proxyUrl, '', (secret) => leaks.secret(secret));
  /** Every answer the SPA sees is checked for leaks too (headers, Location, body). */
  const seen = (answer: BffAnswer): BffAnswer => {
    leaks.add(JSON.stringify([...answer.headers].filter(([name]) => name !== 'set-cookie')));
    leaks.add(answer.text);
    return answer;
  };
  const api = async (b: BffBrowser) => seen(await b.request('/api/demo/me'));
  const opened = async (value: string, purpose: 'login' | 'session') =>
    (await sessionKeys.open(value, purpose, Math.floor(Date.now() / 1000), () => AbortSignal.timeout(5000))).payload as Record<string, unknown> & { dpop_key?: DpopKey };
  const tokenEndpoint = () => `${stack.issuer}/token`;
  /** The access token and proof of a request the API received. */
  function sent(request: ReceivedRequest): { token: string; proof: string } {
    const token = String(request.headers.authorization).replace(/^DPoP /, '');
    const proof = String(request.headers.dpop);
    leaks.secret(token);
    return { token, proof };
  }
  /** A request to the API as another client would send it, past the proxy. */
  const direct = (headers: Record<string, string>) =>
    fetch(`${stack.resourceServer.apiUrl}/me`, { headers, signal: AbortSignal.timeout(5000) }).then(async (response) => ({
      status: response.status,
      wwwAuthenticate: response.headers.get('www-authenticate') ?? '',
      nonce: response.headers.get('dpop-nonce'),
    }));

  describe('login with a key per login (RFC 9449 5, 10)', () => {
    it('the first code exchange of a container: one use_dpop_nonce at the token endpoint, one retry with the nonce, then a DPoP token', async () => {
      const b = browser();
      const callback = seen(await b.login({ scope: 'openid offline_access' }));
      expect(callback.headers.get('location')).toBe(`${stack.proxyUrl}/`);
      const codeGrants = grants.filter((grant) => grant.type === 'authorization_code').map(({ detail: _detail, ...grant }) => grant);
      expect(codeGrants).toEqual([
        { type: 'authorization_code', proof: true, error: 'use_dpop_nonce' },
        { type: 'authorization_code', proof: true },
      ]);
      // The session holds the login's key and a DPoP token; the cookie stays one chunk.
      const session = b.cookies.get('__Host-bff-session')!.value;
      const payload = await opened(session, 'session');
      expect(payload.token_type).toBe('DPoP');
      expect(Object.keys(payload.dpop_key ?? {}).sort()).toEqual(['d', 'x', 'y']);
      leaks.secret(payload.dpop_key?.d, String(payload.access_token), String(payload.refresh_token));
      expect((await b.request('/session')).text).not.toMatch(/dpop|access_token/i);
    });

    /** A login up to the callback, and a redemption of its code past the proxy with the client's secret and the login's own verifier. */
    async function stolenCode() {
      const b = browser();
      const started = seen(await b.startLogin({ scope: 'openid offline_access' }));
      const loginCookie = [...b.cookies.values()].find((cookie) => cookie.name.startsWith('__Host-bff-login.'))!;
      const login = await opened(loginCookie.value, 'login');
      leaks.secret(String(login.code_verifier), login.dpop_key?.d);
      const callbackUrl = await b.authorize(String(started.json?.authorization_url));
      const form = new URLSearchParams({
        grant_type: 'authorization_code',
        code: callbackUrl.searchParams.get('code')!,
        code_verifier: String(login.code_verifier),
        redirect_uri: stack.redirectUri,
        client_id: stack.clientId,
        client_secret: stack.clientSecret,
      });
      const redeem = async (proof?: string) => {
        const response = await fetch(tokenEndpoint(), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...(proof === undefined ? {} : { dpop: proof }) },
          body: form,
          signal: AbortSignal.timeout(5000),
        });
        return { status: response.status, body: (await response.json()) as Record<string, string>, nonce: response.headers.get('dpop-nonce') };
      };
      return { b, login, callbackUrl, redeem };
    }

    // The thief below redeems with the client's secret: a FAPI 2.0 client has none (private_key_jwt with a KMS key).
    it.skipIf(fapi2)('a code redeemed without a proof is refused, even with the client\'s secret and the verifier; the proxy then redeems it with the login\'s key', async () => {
      const { b, callbackUrl, redeem } = await stolenCode();
      const without = await redeem();
      expect(without.status).toBe(400);
      // oidc-provider answers invalid_grant without detail; its event says why.
      expect(grants.at(-1)).toMatchObject({ proof: false, error: 'invalid_grant', detail: expect.stringMatching(/DPoP/) });
      const callback = seen(await b.callback(callbackUrl));
      expect(callback.headers.get('location')).toBe(`${stack.proxyUrl}/`);
      expect((await api(b)).status).toBe(200);
    });

    it.skipIf(fapi2)('the request object carries dpop_jkt: a code redeemed with a proof from another key gets no token (oidc-provider spends the code doing so)', async () => {
      const { b, login, callbackUrl, redeem } = await stolenCode();
      const other = newDpopKey();
      const iat = () => Math.floor(Date.now() / 1000);
      const first = await redeem(await dpopProof(other, { htm: 'POST', htu: tokenEndpoint(), iat: iat() }));
      expect(first.body.error).toBe('use_dpop_nonce');
      const wrongKey = await redeem(await dpopProof(other, { htm: 'POST', htu: tokenEndpoint(), iat: iat(), nonce: first.nonce! }));
      expect(wrongKey.status).toBe(400);
      expect(Object.keys(wrongKey.body)).not.toContain('access_token');
      expect(grants.at(-1)).toMatchObject({ proof: true, error: 'invalid_grant', detail: expect.stringMatching(/dpop_jkt/) });
      expect(dpopJkt(other)).not.toBe(dpopJkt(login.dpop_key!));
      const callback = seen(await b.callback(callbackUrl));
      expect(new URL(String(callback.headers.get('location'))).searchParams.get('error')).toBe('invalid_grant');
    });
  });

  describe('API calls (RFC 9449 7, 9)', () => {
    it('carry Authorization: DPoP and a proof for that URL with ath; a container\'s first call retries once on the resource\'s use_dpop_nonce, the next needs none', async () => {
      const b = browser();
      await b.login({ scope: 'openid offline_access' });
      stack.redeploy({}); // a new container: it knows no nonce yet
      stack.resourceServer.reset();
      const answer = await api(b);
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ sub: 'katherine.johnson' });
      const [refused, retried] = stack.resourceServer.requests;
      expect(stack.resourceServer.requests).toHaveLength(2);
      for (const request of [refused!, retried!]) {
        const { token, proof } = sent(request);
        expect(request.headers.authorization).toMatch(/^DPoP [A-Za-z0-9._~+/-]+=*$/);
        expect(decodeProtectedHeader(proof)).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
        const claims = decodeJwt(proof);
        expect(claims).toMatchObject({ htm: 'GET', htu: `${stack.resourceServer.apiUrl}/me` });
        expect(claims.ath).toBe((await import('node:crypto')).createHash('sha256').update(token).digest('base64url'));
        leaks.secret(proof);
      }
      expect(decodeJwt(sent(refused!).proof).nonce).not.toBe(decodeJwt(sent(retried!).proof).nonce);
      expect(decodeJwt(sent(refused!).proof).jti).not.toBe(decodeJwt(sent(retried!).proof).jti);

      stack.resourceServer.reset();
      expect((await api(b)).status).toBe(200);
      expect(stack.resourceServer.requests).toHaveLength(1);
    });

    it('refresh: every call with the token due refreshes with a proof, and the new token is bound to the same key', async () => {
      const b = browser();
      await b.login({ scope: 'openid offline_access' });
      const before = await opened(b.cookies.get('__Host-bff-session')!.value, 'session');
      const refreshesBefore = grants.filter((grant) => grant.type === 'refresh_token' && grant.error === undefined).length;
      const answer = await api(b);
      expect(answer.status).toBe(200);
      expect(answer.setCookies.some((line) => line.startsWith('__Host-bff-session='))).toBe(true);
      const after = await opened(b.cookies.get('__Host-bff-session')!.value, 'session');
      leaks.secret(String(after.access_token), String(before.access_token));
      expect(after.access_token).not.toBe(before.access_token);
      expect(after.dpop_key).toEqual(before.dpop_key);
      const refreshes = grants.filter((grant) => grant.type === 'refresh_token');
      expect(refreshes.filter((grant) => grant.error === undefined).length).toBeGreaterThan(refreshesBefore);
      expect(refreshes.every((grant) => grant.proof)).toBe(true);
    });

    it('a stale nonce (the resource rotated it): one use_dpop_nonce, one retry with the new one, 200', async () => {
      const b = browser();
      await b.login({ scope: 'openid offline_access' });
      expect((await api(b)).status).toBe(200);
      stack.resourceServer.rotateDpopNonce();
      stack.resourceServer.reset();
      expect((await api(b)).status).toBe(200);
      expect(stack.resourceServer.requests).toHaveLength(2);
    });
  });

  describe('the resource server refuses what a thief could send (RFC 9449 7, 11.1)', () => {
    it('a replayed proof, a proof from another key, the token as Bearer, no proof: 401 each', async () => {
      const b = browser();
      await b.login({ scope: 'openid offline_access' });
      stack.resourceServer.reset();
      expect((await api(b)).status).toBe(200);
      const { token, proof } = sent(stack.resourceServer.requests.at(-1)!);

      const replayed = await direct({ authorization: `DPoP ${token}`, dpop: proof });
      expect(replayed.status).toBe(401);
      expect(replayed.wwwAuthenticate).toMatch(/error="invalid_dpop_proof".*used before/);

      const nonce = String(decodeJwt(proof).nonce);
      const thief = await dpopProof(newDpopKey(), { htm: 'GET', htu: `${stack.resourceServer.apiUrl}/me`, iat: Math.floor(Date.now() / 1000), nonce, accessToken: token });
      const otherKey = await direct({ authorization: `DPoP ${token}`, dpop: thief });
      expect(otherKey.status).toBe(401);
      expect(otherKey.wwwAuthenticate).toMatch(/error="invalid_token".*another key/);

      expect((await direct({ authorization: `Bearer ${token}` })).status).toBe(401);
      expect((await direct({ authorization: `DPoP ${token}` })).status).toBe(400);
    });
  });
});

describe('nothing leaks', () => {
  it('no proof, key, token, code or cookie value in any log line, answer header, Location or body', () => {
    stopWatching();
    const report = leaks.report();
    expect(report.requestLogLines).toBeGreaterThan(10);
    expect(report.findings).toEqual([]);
  });
});
