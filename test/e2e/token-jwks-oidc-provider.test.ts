import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { lambdaHandler } from '../../functions/app/lambda.ts';
import { jwksAppFromEnv } from '../../functions/jwks/wiring.ts';
import { parAppFromEnv } from '../../functions/par/wiring.ts';
import { tokenAppFromEnv } from '../../functions/token/wiring.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { invoke } from '../helpers/harness.ts';
import { authorizeThroughPar } from '../helpers/relay-authorize.ts';
import { captureOutput } from '../helpers/output.ts';

/**
 * The login the SPA cannot finish alone, against a real oidc-provider: /par, the login, then
 * /token as the confidential client (RFC 6749 4.1.3 with PKCE, RFC 7636 4.5) and refresh (RFC 6749 6).
 */
let stack: LocalStack;
let par: ReturnType<typeof lambdaHandler>;
let token: ReturnType<typeof lambdaHandler>;
let jwks: ReturnType<typeof lambdaHandler>;
const pushed: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack();
  par = lambdaHandler(parAppFromEnv(stack.env));
  token = lambdaHandler(tokenAppFromEnv(stack.env));
  jwks = lambdaHandler(jwksAppFromEnv(stack.env));
  stack.authorizationServer.provider.on('pushed_authorization_request.success', (ctx) => {
    pushed.push(String((ctx.oidc.body as Record<string, unknown>).request));
  });
});
afterAll(() => stack.close());

const origin = () => ({ origin: stack.proxyUrl });

async function authorize(scope: string, extra: Record<string, unknown> = {}) {
  const { code, verifier } = await authorizeThroughPar(par, stack, { nonce: 'n-1', scope, ...extra });
  return { code, verifier };
}

describe('POST /token against oidc-provider', () => {
  it('redeems the code with the PKCE verifier: 200, no-store, an ID token for the user', async () => {
    const { code, verifier } = await authorize('openid profile');
    const output = captureOutput();
    const answer = await invoke(token, {
      path: '/token',
      headers: origin(),
      body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: stack.redirectUri },
    }).finally(() => output.restore());
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['access-control-allow-origin']).toBe(stack.proxyUrl);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), id_token: expect.any(String) });
    const idToken = answer.body.id_token as string;
    const claims = JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: 'grace.hopper', nonce: 'n-1', aud: stack.clientId, iss: stack.issuer });
    // The code, tokens and secret never reach a log line.
    for (const secret of [code, answer.body.access_token as string, idToken, stack.clientSecret]) {
      expect(output.text()).not.toContain(secret);
    }
    expect(output.lines().find((l) => l.message === 'request')).toMatchObject({ route: '/token', status: 200, success: 'TokensIssued' });
  });

  it('refuses a wrong verifier: 400 invalid_grant from the authorization server (RFC 7636 4.6)', async () => {
    const { code } = await authorize('openid');
    const answer = await invoke(token, {
      path: '/token',
      headers: origin(),
      body: {
        grant_type: 'authorization_code',
        code,
        code_verifier: randomBytes(32).toString('base64url'),
        redirect_uri: stack.redirectUri,
      },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_grant');
  });

  it('refreshes: a refresh token from offline_access buys a new access token (RFC 6749 6)', async () => {
    const { code, verifier } = await authorize('openid offline_access', { prompt: 'consent' });
    const first = await invoke(token, {
      path: '/token',
      headers: origin(),
      body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: stack.redirectUri },
    });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).toEqual(expect.any(String));
    const refreshed = await invoke(token, {
      path: '/token',
      headers: origin(),
      body: { grant_type: 'refresh_token', refresh_token: first.body.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.access_token).not.toBe(first.body.access_token);
  });

  it('refuses bad input before any upstream call', async () => {
    const before = stack.kms.totalCalls() + stack.secretsManager.totalCalls();
    for (const body of [
      { grant_type: 'password', username: 'a', password: 'b' },
      { grant_type: 'authorization_code', code: 'c', code_verifier: 'short', redirect_uri: stack.redirectUri },
      { grant_type: 'authorization_code', code: 'c', code_verifier: 'v'.repeat(43), redirect_uri: 'https://evil.example/cb' },
      { grant_type: 'refresh_token', refresh_token: 'r', client_secret: 'x' },
    ]) {
      const answer = await invoke(token, { path: '/token', headers: origin(), body });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
    }
    expect((await invoke(token, { path: '/token', headers: { origin: 'https://evil.example' }, body: {} })).status).toBe(403);
    expect(stack.kms.totalCalls() + stack.secretsManager.totalCalls()).toBe(before);
  });
});

describe('GET /.well-known/jwks.json', () => {
  it('publishes the signing key with the kid /par puts in its header, cacheable (RFC 7517)', async () => {
    const answer = await invoke(jwks, { method: 'GET', path: '/.well-known/jwks.json', headers: {} });
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('public, max-age=300');
    const keys = answer.body.keys as Record<string, unknown>[];
    expect(keys).toHaveLength(1);
    expect(Object.keys(keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'PS256', use: 'sig', e: 'AQAB' });
    expect(pushed.length).toBeGreaterThan(0);
    expect(decodeProtectedHeader(pushed[0]!).kid).toBe(keys[0]!.kid);
    // The published key verifies what /par signed.
    const { protectedHeader } = await jwtVerify(pushed[0]!, createLocalJWKSet({ keys: keys as never }), {
      typ: 'oauth-authz-req+jwt',
      audience: stack.issuer,
      issuer: stack.clientId,
    });
    expect(protectedHeader.alg).toBe('PS256');
  });

  it('reads the public key from KMS once per container', async () => {
    const before = stack.kms.calls.get('GetPublicKey') ?? 0;
    for (let i = 0; i < 3; i += 1) {
      expect((await invoke(jwks, { method: 'GET', path: '/.well-known/jwks.json', headers: {} })).status).toBe(200);
    }
    expect((stack.kms.calls.get('GetPublicKey') ?? 0) - before).toBe(0);
  });
});
