import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationServer } from '../../functions/adapters/authorization-server.ts';
import { secretsManagerClient } from '../../functions/adapters/aws-clients.ts';
import { clientSecretAuthentication, type ClientAuthentication } from '../../functions/adapters/client-authentication.ts';
import { ClientSecretSource } from '../../functions/adapters/client-secret.ts';
import { endSessionUrl } from '../../functions/adapters/end-session.ts';
import { IdTokenVerifier, InvalidIdTokenError } from '../../functions/adapters/id-token.ts';
import { revokeToken } from '../../functions/adapters/revocation.ts';
import { requestTokenSet, type TokenSet } from '../../functions/adapters/token-endpoint.ts';
import { Deadline } from '../../functions/core/deadline.ts';
import { UpstreamRefusedError } from '../../functions/core/errors.ts';
import { startLocalAuthorizationServer } from '../../local/authorization-server.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { logIn } from '../helpers/browser-session.ts';

/**
 * The bff's adapters against a real oidc-provider: a login pushed through the relay /par, the code
 * redeemed as the bff does (RFC 6749 4.1.3, response parsed per 5.1), the ID token verified against
 * the provider's JWKS (OpenID Connect Core 3.1.3.7), the refresh token revoked (RFC 7009) and the
 * end-session URL accepted by the provider (RP-Initiated Logout 1.0 2).
 */
const POST_LOGOUT = 'https://app.example.test/logged-out';
let stack: LocalStack;
let server: AuthorizationServer;
let auth: ClientAuthentication;

beforeAll(async () => {
  stack = await startLocalStack({ revocation: true, postLogoutRedirectUris: [POST_LOGOUT] });
  server = new AuthorizationServer(stack.issuer, {});
  auth = clientSecretAuthentication(
    'client_secret_post',
    stack.clientId,
    new ClientSecretSource(secretsManagerClient({ timeoutMs: 1000 }), stack.env.CLIENT_SECRET_ID!),
  );
});
afterAll(() => stack.close());

const deadline = () => Deadline.start(Date.now, 5000, 2000);

/** POST /par (relay), the login at oidc-provider, then the code exchange as the bff makes it. */
async function login(scope: string): Promise<{ tokens: TokenSet; nonce: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const pushed = await fetch(`${stack.proxyUrl}/par`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: stack.proxyUrl },
    body: JSON.stringify({
      redirect_uri: stack.redirectUri,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: randomBytes(8).toString('hex'),
      nonce,
      scope,
      prompt: 'consent',
    }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(pushed.status).toBe(201);
  const { authorization_url } = (await pushed.json()) as { authorization_url: string };
  const code = (await logIn(authorization_url, stack.redirectUri, 'mary.jackson')).searchParams.get('code')!;
  const tokens = await requestTokenSet(
    server,
    auth,
    stack.clientId,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: stack.redirectUri },
    deadline(),
  );
  return { tokens, nonce };
}

describe('the bff adapters against oidc-provider', () => {
  it('RFC 6749 5.1 + OpenID Connect Core 3.1.3.7: the code exchange parses, the ID token verifies against the JWKS from discovery', async () => {
    const { tokens, nonce } = await login('openid profile');
    expect(tokens).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600, id_token: expect.any(String), scope: 'openid profile' });
    const verifier = new IdTokenVerifier(server, stack.clientId);
    const claims = await verifier.verify(tokens.id_token!, nonce, deadline());
    expect(claims).toMatchObject({ iss: stack.issuer, sub: 'mary.jackson', aud: stack.clientId, nonce });
    // Core 3.1.3.7 item 11: the same token is refused for another login's nonce.
    const error = await verifier.verify(tokens.id_token!, 'another-login', deadline()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidIdTokenError);
  });

  it('RFC 7009 2.1-2.2: a revoked refresh token no longer refreshes (RFC 6749 5.2 invalid_grant)', async () => {
    const { tokens } = await login('openid offline_access');
    const refreshToken = tokens.refresh_token!;
    expect(refreshToken).toEqual(expect.any(String));
    const refresh = () => requestTokenSet(server, auth, stack.clientId, { grant_type: 'refresh_token', refresh_token: refreshToken }, deadline());
    // The refresh token works before it is revoked (non-rotating for this confidential client).
    await expect(refresh()).resolves.toMatchObject({ token_type: 'Bearer' });
    await expect(revokeToken(server, auth, stack.clientId, refreshToken, 'refresh_token', deadline())).resolves.toBe(true);
    const refused = await refresh().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UpstreamRefusedError);
    expect(refused).toMatchObject({ status: 400, error: 'invalid_grant' });
  });

  it('RFC 7009 2.2: revoking a token the server does not know is 200, done', async () => {
    await expect(revokeToken(server, auth, stack.clientId, randomBytes(32).toString('base64url'), 'refresh_token', deadline())).resolves.toBe(true);
  });

  it('RP-Initiated Logout 1.0 2: the end-session URL from discovery, accepted by the provider, which then sends the user back', async () => {
    const url = await endSessionUrl(server, stack.clientId, POST_LOGOUT, deadline());
    expect(url).toBe(`${stack.issuer}/session/end?client_id=${stack.clientId}&post_logout_redirect_uri=${encodeURIComponent(POST_LOGOUT)}`);
    // The provider shows its logout confirmation (not an error page) and, confirmed, redirects to POST_LOGOUT.
    const page = await fetch(url!, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    const html = await page.text();
    expect(page.status, html).toBe(200);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const confirmed = await fetch(new URL(action, url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
      signal: AbortSignal.timeout(5000),
    });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe(POST_LOGOUT);
  });

  it('RP-Initiated Logout 1.0 2: an unregistered post_logout_redirect_uri is refused by the provider (the check the URL relies on)', async () => {
    const url = await endSessionUrl(server, stack.clientId, 'https://evil.example/', deadline());
    const page = await fetch(url!, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    expect(page.status).toBe(400);
  });
});

describe('a provider without revocation (oidc-provider default)', () => {
  it('revokeToken: false and nothing sent; the end-session URL is still there', async () => {
    const plain = await startLocalAuthorizationServer({ clients: [] });
    try {
      const other = new AuthorizationServer(plain.issuer, {});
      await expect(revokeToken(other, auth, 'any', 'rt', 'refresh_token', deadline())).resolves.toBe(false);
      await expect(endSessionUrl(other, 'any', undefined, deadline())).resolves.toBe(`${plain.issuer}/session/end?client_id=any`);
    } finally {
      await plain.close();
    }
  });
});
