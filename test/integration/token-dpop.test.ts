import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { lambdaHandler } from '../../functions/app/lambda.ts';
import { tokenAppFromEnv } from '../../functions/token/wiring.ts';
import { invoke, startHarness, REDIRECT_URI, type Harness } from '../helpers/harness.ts';

/**
 * Relay /token with DPOP=true against a scripted token endpoint: what oidc-provider will not answer
 * on its own (a Bearer token to a proof, a nonce on a success, a refresh without a new refresh token).
 */
let harness: Harness;
let token: ReturnType<typeof lambdaHandler>;
let key: { privateKey: CryptoKey; jwk: JWK };

beforeAll(async () => {
  harness = await startHarness();
  const sessionKeys = harness.secretsManager.createSecret('par/session-keys', randomBytes(32).toString('base64url'));
  token = lambdaHandler(tokenAppFromEnv({ ...harness.env, DPOP: 'true', SESSION_KEYS_SECRET_ID: sessionKeys.arn }));
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  key = { privateKey, jwk: await exportJWK(publicKey) };
});
afterAll(() => harness.close());
beforeEach(() => harness.as.reset());

const proof = () =>
  new SignJWT({ htm: 'POST', htu: `${harness.as.issuer}oauth/token`, jti: randomBytes(8).toString('hex') })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .setIssuedAt()
    .sign(key.privateKey);

const codeGrant = { grant_type: 'authorization_code', code: 'the-code', code_verifier: 'v'.repeat(43), redirect_uri: REDIRECT_URI };

describe('relay /token with DPoP (RFC 9449)', () => {
  it('forwards the proof unchanged and passes a success nonce on (RFC 9449 8.2); the refresh token comes back sealed', async () => {
    harness.as.script('token', () => ({
      status: 200,
      headers: { 'dpop-nonce': 'nonce-2' },
      body: { access_token: 'at', token_type: 'DPoP', expires_in: 60, refresh_token: 'server-rt', scope: 'openid' },
    }));
    const dpop = await proof();
    const answer = await invoke(token, { path: '/token', headers: { dpop }, body: codeGrant });
    expect(answer.status, answer.raw).toBe(200);
    expect(harness.as.requests.find((r) => r.endpoint === 'token')!.headers.dpop).toBe(dpop);
    expect(answer.headers['dpop-nonce']).toBe('nonce-2');
    expect(answer.body).toMatchObject({ access_token: 'at', token_type: 'DPoP', expires_in: 60, scope: 'openid' });
    expect(answer.body.refresh_token).not.toBe('server-rt');
    expect(answer.raw).not.toContain('server-rt');

    // The sealed one opens for the same key: the server gets its own refresh token back.
    harness.as.script('token', () => ({ status: 200, body: { access_token: 'at-2', token_type: 'dpop' } }));
    const refreshed = await invoke(token, {
      path: '/token',
      headers: { dpop: await proof() },
      body: { grant_type: 'refresh_token', refresh_token: answer.body.refresh_token },
    });
    expect(refreshed.status, refreshed.raw).toBe(200);
    expect(harness.as.requests.filter((r) => r.endpoint === 'token').at(-1)!.form.get('refresh_token')).toBe('server-rt');
    // RFC 6749 6: no new refresh token, none in the answer; the SPA keeps its sealed one.
    expect(refreshed.body.refresh_token).toBeUndefined();
  });

  it('refuses a Bearer token_type to a proof: 502 server_error, no token reaches the SPA (RFC 9449 5)', async () => {
    harness.as.script('token', () => ({ status: 200, body: { access_token: 'bearer-at', token_type: 'Bearer', refresh_token: 'rt' } }));
    const answer = await invoke(token, { path: '/token', headers: { dpop: await proof() }, body: codeGrant });
    expect(answer.status).toBe(502);
    expect(answer.body).toEqual({ error: 'server_error', error_description: expect.stringContaining('DPoP') });
    expect(answer.raw).not.toContain('bearer-at');
  });

  it('passes use_dpop_nonce on as 400 with its nonce, and drops a nonce with characters RFC 9449 8.1 does not allow', async () => {
    harness.as.script('token', (call) => ({
      status: 400,
      headers: { 'dpop-nonce': call === 1 ? 'n-1' : 'bad"nonce' },
      body: { error: 'use_dpop_nonce', error_description: 'nonce required' },
    }));
    const first = await invoke(token, { path: '/token', headers: { dpop: await proof() }, body: codeGrant });
    expect(first.status).toBe(400);
    expect(first.body.error).toBe('use_dpop_nonce');
    expect(first.headers['dpop-nonce']).toBe('n-1');
    const second = await invoke(token, { path: '/token', headers: { dpop: await proof() }, body: codeGrant });
    expect(second.headers['dpop-nonce']).toBeUndefined();
  });

  it('takes a refresh token as long as a sealed one may be, and refuses one it did not seal before the server: 400 invalid_grant', async () => {
    const before = harness.calls().as;
    const answer = await invoke(token, {
      path: '/token',
      headers: { dpop: await proof() },
      body: { grant_type: 'refresh_token', refresh_token: 'x'.repeat(6000) },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_grant');
    expect(harness.calls().as).toBe(before);
  });
});
