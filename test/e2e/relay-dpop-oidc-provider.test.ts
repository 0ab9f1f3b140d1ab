import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { lambdaHandler } from '../../functions/app/lambda.ts';
import { parAppFromEnv } from '../../functions/par/wiring.ts';
import { tokenAppFromEnv } from '../../functions/token/wiring.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { invoke, type Answer } from '../helpers/harness.ts';
import { authorizeThroughPar } from '../helpers/relay-authorize.ts';
import { LEAK_PATTERNS } from '../helpers/leak-collector.ts';
import { captureOutput, type CapturedOutput } from '../helpers/output.ts';

/**
 * DPoP (RFC 9449) in relay mode, against oidc-provider with DPoP-bound tokens and nonces required:
 * the SPA's key binds the code (dpop_jkt, section 10), /token forwards the SPA's proofs unchanged,
 * the server's nonce reaches the SPA (section 8), and the refresh token the SPA gets is sealed to its
 * key, so a proof of any other key is refused before the server sees it. Against today's server and
 * the FAPI 2.0 one (local/fapi2.ts) with the proxy under SECURITY_PROFILE=fapi2, which implies DPOP
 * (issue 14: the flows against both).
 */
describe.each([
  { server: 'oidc-provider', fapi2: false },
  { server: 'the FAPI 2.0 server (SECURITY_PROFILE=fapi2)', fapi2: true },
])('against $server', ({ fapi2 }) => {
  let stack: LocalStack;
  let par: ReturnType<typeof lambdaHandler>;
  let token: ReturnType<typeof lambdaHandler>;
  let output: CapturedOutput;
  /** Every token request the authorization server answered. */
  let asRequests = 0;
  const pushed: string[] = [];
  /** What must appear in no log line, error body or URL. */
  const secrets: string[] = [];

  beforeAll(async () => {
    stack = await startLocalStack({ dpop: true, ...(fapi2 ? { profile: 'fapi2' as const } : {}) });
    par = lambdaHandler(parAppFromEnv(stack.env));
    token = lambdaHandler(tokenAppFromEnv(stack.env));
    // Every token request ends in one of these (the provider's middleware is composed at start, so
    // provider.use would see nothing).
    stack.authorizationServer.provider.on('grant.success', () => (asRequests += 1));
    stack.authorizationServer.provider.on('grant.error', () => (asRequests += 1));
    stack.authorizationServer.provider.on('pushed_authorization_request.success', (ctx) => {
      pushed.push(String((ctx.oidc.body as Record<string, unknown>).request));
    });
    output = captureOutput();
  });
  afterAll(async () => {
    output?.restore();
    await stack?.close();
  });

  const origin = () => ({ origin: stack.proxyUrl });

  /** The SPA's key: P-256, as client/par-login.ts makes it with WebCrypto. */
  interface SpaKey {
    readonly privateKey: CryptoKey;
    readonly jwk: JWK;
    readonly jkt: string;
  }

  async function spaKey(): Promise<SpaKey> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
  }

  /** RFC 9449 4.2: a proof for a POST to the token endpoint, with the server's nonce once it has named one. */
  async function proofFor(key: SpaKey, htu: string, nonce?: string): Promise<string> {
    const proof = await new SignJWT({ htm: 'POST', htu, jti: randomBytes(16).toString('base64url'), ...(nonce === undefined ? {} : { nonce }) })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
      .setIssuedAt()
      .sign(key.privateKey);
    secrets.push(proof);
    return proof;
  }

  async function authorize(key: SpaKey, scope = 'openid offline_access') {
    const { code, verifier, pushed: answer } = await authorizeThroughPar(par, stack, { nonce: 'n-1', scope, prompt: 'consent', dpop_jkt: key.jkt });
    secrets.push(code, verifier);
    return { code, verifier, tokenEndpoint: answer.body.token_endpoint as string };
  }

  /** Every answer but the 200s, which carry tokens by design. */
  const refusals: Answer[] = [];

  async function tokenCall(body: Record<string, unknown>, dpop?: string): Promise<Answer> {
    const answer = await invoke(token, { path: '/token', headers: { ...origin(), ...(dpop === undefined ? {} : { dpop }) }, body });
    if (answer.status !== 200) refusals.push(answer);
    return answer;
  }

  /**
   * What the SPA does (client/par-login.ts): a proof, and once more with the server's nonce after a
   * use_dpop_nonce answer (RFC 9449 8), never more.
   */
  async function withNonceRetry(key: SpaKey, htu: string, body: Record<string, unknown>, nonce?: string) {
    const first = await tokenCall(body, await proofFor(key, htu, nonce));
    if (first.status !== 400 || first.body.error !== 'use_dpop_nonce') return { first, last: first };
    return { first, last: await tokenCall(body, await proofFor(key, htu, String(first.headers['dpop-nonce']))) };
  }

  async function redeem(key: SpaKey) {
    const { code, verifier, tokenEndpoint } = await authorize(key);
    const body = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: stack.redirectUri };
    const { first, last } = await withNonceRetry(key, tokenEndpoint, body);
    expect(last.status, last.raw).toBe(200);
    secrets.push(String(last.body.access_token), String(last.body.refresh_token), String(last.body.id_token));
    return { first, tokens: last, tokenEndpoint, nonce: String(last.headers['dpop-nonce'] ?? first.headers['dpop-nonce']) };
  }

  describe('relay DPoP (RFC 9449)', () => {
    it('/par refuses an intent without dpop_jkt before KMS, and otherwise signs dpop_jkt into the request object (RFC 9449 10)', async () => {
      const kmsBefore = stack.kms.totalCalls();
      const refused = await invoke(par, {
        headers: origin(),
        body: { redirect_uri: stack.redirectUri, code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', state: 's' },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_request');
      expect(refused.body.error_description).toContain('dpop_jkt');
      expect(stack.kms.totalCalls()).toBe(kmsBefore);

      const key = await spaKey();
      const { tokenEndpoint } = await authorize(key);
      const discovery = (await (await fetch(`${stack.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(tokenEndpoint).toBe(discovery.token_endpoint);
      expect(decodeJwt(pushed.at(-1)!).dpop_jkt).toBe(key.jkt);
    });

    it("redeems the code with the SPA's proof: use_dpop_nonce reaches the SPA with DPoP-Nonce exposed by CORS, the one retry succeeds (RFC 9449 8)", async () => {
      const { first, tokens } = await redeem(await spaKey());
      expect(first.status).toBe(400);
      expect(first.body.error).toBe('use_dpop_nonce');
      expect(first.headers['dpop-nonce']).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]+$/);
      expect(first.headers['access-control-expose-headers']).toBe('dpop-nonce');
      expect(first.headers['access-control-allow-origin']).toBe(stack.proxyUrl);
      expect(tokens.headers['cache-control']).toBe('no-store');
      expect(tokens.body.token_type).toBe('DPoP');
      // The refresh token is the server's sealed with the key's thumbprint (JWE, 5 parts), not the server's.
      expect(String(tokens.body.refresh_token).split('.')).toHaveLength(5);
    });

    it('answers the preflight of a call with a DPoP header', async () => {
      const answer = await invoke(token, {
        method: 'OPTIONS',
        path: '/token',
        headers: { ...origin(), 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, dpop' },
      });
      expect(answer.status).toBe(204);
      expect(answer.headers['access-control-allow-headers']).toBe('content-type, dpop');
    });

    it('refuses a code redeemed with a proof of another key than dpop_jkt (RFC 9449 10.1)', async () => {
      const key = await spaKey();
      const { code, verifier, tokenEndpoint } = await authorize(key);
      const body = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: stack.redirectUri };
      const { last } = await withNonceRetry(await spaKey(), tokenEndpoint, body);
      expect(last.status).toBe(400);
      expect(last.body.error).toBe('invalid_grant');
    });

    it('refreshes with a proof of the same key: a new DPoP access token and a sealed refresh token', async () => {
      const key = await spaKey();
      const { tokens, tokenEndpoint, nonce } = await redeem(key);
      const { last } = await withNonceRetry(key, tokenEndpoint, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token }, nonce);
      expect(last.status, last.raw).toBe(200);
      expect(last.body.token_type).toBe('DPoP');
      expect(last.body.access_token).not.toBe(tokens.body.access_token);
      secrets.push(String(last.body.access_token), String(last.body.refresh_token ?? ''));
    });

    it("refuses a refresh with another key's proof before the authorization server: 400 invalid_grant", async () => {
      const key = await spaKey();
      const { tokens, tokenEndpoint, nonce } = await redeem(key);
      const thief = await spaKey();
      const before = asRequests;
      const answer = await tokenCall({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token }, await proofFor(thief, tokenEndpoint, nonce));
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_grant');
      expect(asRequests).toBe(before);
      // The count does move for a refresh that gets through: the owner's.
      const owner = await withNonceRetry(key, tokenEndpoint, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token }, nonce);
      expect(owner.last.status).toBe(200);
      expect(asRequests).toBeGreaterThan(before);
    });

    it('refuses a tampered sealed refresh token, and the server\'s own refresh token unsealed, before the authorization server', async () => {
      const key = await spaKey();
      const { tokens, tokenEndpoint, nonce } = await redeem(key);
      const sealed = String(tokens.body.refresh_token);
      const i = sealed.length - 30;
      const tampered = `${sealed.slice(0, i)}${sealed[i] === 'A' ? 'B' : 'A'}${sealed.slice(i + 1)}`;
      const before = asRequests;
      for (const refreshToken of [tampered, 'a-plain-refresh-token']) {
        const answer = await tokenCall({ grant_type: 'refresh_token', refresh_token: refreshToken }, await proofFor(key, tokenEndpoint, nonce));
        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('invalid_grant');
      }
      expect(asRequests).toBe(before);
    });

    it('refuses a missing, malformed or badly signed proof with 400 invalid_dpop_proof before any remote call', async () => {
      const key = await spaKey();
      const good = await proofFor(key, 'http://127.0.0.1/token');
      const [h, p, s] = good.split('.') as [string, string, string];
      const badSignature = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
      const before = { as: asRequests, sm: stack.secretsManager.totalCalls() };
      const body = { grant_type: 'authorization_code', code: 'c', code_verifier: 'v'.repeat(43), redirect_uri: stack.redirectUri };
      for (const dpop of [undefined, 'not-a-jws', `${good}, ${good}`, badSignature, 'x'.repeat(5000)]) {
        const answer = await tokenCall(body, dpop);
        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('invalid_dpop_proof');
      }
      expect({ as: asRequests, sm: stack.secretsManager.totalCalls() }).toEqual(before);
    });

    it("a replayed proof: the server refuses a proof's jti it has seen (RFC 9449 11.1), and /token passes its refusal on", async () => {
      const key = await spaKey();
      const { tokens, tokenEndpoint, nonce } = await redeem(key);
      const proof = await proofFor(key, tokenEndpoint, nonce);
      const refresh = { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token };
      const once = await tokenCall(refresh, proof);
      expect(once.status, once.raw).toBe(200);
      secrets.push(String(once.body.access_token), String(once.body.refresh_token ?? ''));
      const details: string[] = [];
      const record = (_ctx: unknown, error: unknown) => void details.push(String((error as { error_detail?: string }).error_detail));
      stack.authorizationServer.provider.on('grant.error', record);
      const replayed = await tokenCall({ ...refresh, refresh_token: once.body.refresh_token ?? tokens.body.refresh_token }, proof).finally(() =>
        stack.authorizationServer.provider.off('grant.error', record),
      );
      // oidc-provider answers invalid_grant; its event says why.
      expect(replayed.status).toBe(400);
      expect(replayed.body.error).toBe('invalid_grant');
      expect(details).toEqual([expect.stringMatching(/Replay detected/)]);
    });

    it("a stale nonce: the server's use_dpop_nonce with a new DPoP-Nonce reaches the SPA, whose one retry succeeds (RFC 9449 8)", async () => {
      const key = await spaKey();
      const { tokens, tokenEndpoint, nonce } = await redeem(key);
      const stale = `${nonce.slice(0, -4)}${nonce.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      const { first, last } = await withNonceRetry(key, tokenEndpoint, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token }, stale);
      expect(first.status).toBe(400);
      expect(first.body.error).toBe('use_dpop_nonce');
      expect(first.headers['dpop-nonce']).not.toBe(stale);
      expect(last.status, last.raw).toBe(200);
      secrets.push(String(last.body.access_token), String(last.body.refresh_token ?? ''));
    });

    it('no leaks: no proof, code, verifier, token or sealed refresh token in a log line or an error answer', () => {
      const logs = output.text();
      expect(logs).toContain('"route":"/token"');
      expect(refusals.length).toBeGreaterThan(10);
      const answered = refusals.map((answer) => `${JSON.stringify(answer.headers)}\n${answer.raw}`).join('\n');
      for (const secret of secrets.filter((value) => value.length > 8)) {
        expect(logs).not.toContain(secret);
        expect(answered).not.toContain(secret);
      }
      for (const [what, pattern] of LEAK_PATTERNS) {
        expect(pattern.test(logs), `${what} in the logs`).toBe(false);
        expect(pattern.test(answered), `${what} in an answer`).toBe(false);
      }
    });
  });
});
