import { describe, expect, it } from 'vitest';
import { completeLogin, LoginError, startLogin } from '../../client/par-login.ts';
import { startLocalAuthorizationServer } from '../../local/authorization-server.ts';
import { logIn } from '../helpers/browser-session.ts';
import { watchedStack } from '../helpers/watched-stack.ts';
import { loginThroughProxy } from '../helpers/login-flow.ts';

/**
 * FAPI 2.0 end to end in relay mode, DPoP off (its own switch): the local oidc-provider as a FAPI
 * 2.0 authorization server (Security Profile and Message Signing, local/fapi2.ts), the proxy with
 * SECURITY_PROFILE=fapi2, the SPA client of client/par-login.ts. One stack per file: the local
 * stack points the AWS SDK at its own KMS through process.env. The bff mode: fapi2-bff-oidc-provider.test.ts.
 */
const watched = watchedStack({ profile: 'fapi2' });
const { leaks } = watched;
const stack = watched.current;

describe('the local FAPI 2.0 authorization server (local/fapi2.ts)', () => {
  it('advertises PAR and signed requests required, private_key_jwt and PS256 only, code only, JARM, and iss', async () => {
    const metadata = (await (await fetch(`${stack().issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      require_pushed_authorization_requests: true,
      require_signed_request_object: true,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['PS256'],
      request_object_signing_alg_values_supported: ['PS256'],
      id_token_signing_alg_values_supported: ['PS256'],
      authorization_signing_alg_values_supported: ['PS256'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(metadata.response_modes_supported).toContain('jwt');
  });

  it('refuses to register a client with a secret or another algorithm', async () => {
    const client = { clientId: 'c', redirectUris: ['http://127.0.0.1/cb'], jwks: { keys: [] } };
    await expect(startLocalAuthorizationServer({ profile: 'fapi2', clients: [{ ...client, clientSecret: 's', authMethod: 'client_secret_post', requestObjectAlg: 'PS256' }] })).rejects.toThrow(/private_key_jwt/);
    await expect(startLocalAuthorizationServer({ profile: 'fapi2', clients: [{ ...client, authMethod: 'private_key_jwt', requestObjectAlg: 'RS256' }] })).rejects.toThrow(/PS256/);
  });

  it('refuses a request object and client assertion signed with RS256 (the proxy started without the profile to send them)', async () => {
    stack().redeploy({ SECURITY_PROFILE: 'none', SIGNING_ALG: 'RS256' });
    try {
      const answer = await loginThroughProxy(stack()).catch((error: Error) => error);
      expect(String(answer)).toMatch(/\/par answered 502: .*"error":"(invalid_client|invalid_request_object)"/);
    } finally {
      stack().redeploy({});
    }
  });
});

describe('relay mode under the profile', () => {
  it('a login completes: PAR, private_key_jwt with aud = the issuer, PKCE, the PS256 ID token', async () => {
    const { tokens, idTokenClaims } = await loginThroughProxy(stack());
    leaks.secret(String(tokens.access_token), String(tokens.id_token));
    expect(JSON.parse(Buffer.from(String(tokens.id_token).split('.')[0]!, 'base64url').toString()).alg).toBe('PS256');
    expect(idTokenClaims.iss).toBe(stack().issuer);
  });

  it("the SPA client refuses a response without iss even when the proxy reads no metadata (RFC 9207 2.4), and a mix-up's iss", async () => {
    // Both endpoints configured: no discovery document, so only the profile says iss is always sent.
    stack().redeploy({ PAR_ENDPOINT: `${stack().issuer}/request`, AUTHORIZATION_ENDPOINT: `${stack().issuer}/auth` });
    try {
      for (const tamper of [(url: URL) => url.searchParams.delete('iss'), (url: URL) => url.searchParams.set('iss', 'https://attacker.example')]) {
        const storage = memoryStorage();
        let authorizationUrl = '';
        await startLogin({ proxyUrl: stack().proxyUrl, redirectUri: stack().redirectUri, storage, navigate: (url) => (authorizationUrl = url) });
        const callback = await logIn(authorizationUrl, stack().redirectUri, 'katherine.johnson');
        expect(callback.searchParams.get('iss')).toBe(stack().issuer);
        leaks.secret(callback.searchParams.get('code'));
        tamper(callback);
        const error = await completeLogin({ url: callback.href, storage }).catch((failure: unknown) => failure);
        expect(error).toBeInstanceOf(LoginError);
        expect((error as LoginError).error).toBe('invalid_issuer');
      }
    } finally {
      stack().redeploy({});
    }
  });
});

describe('relay mode under the profile: JARM in the SPA client (client/jarm.ts, WebCrypto)', () => {
  /** A relay login that asked for JARM, up to the redirect back to the SPA: its storage and callback URL. */
  async function jarmCallback() {
    const storage = memoryStorage();
    let authorizationUrl = '';
    await startLogin({ proxyUrl: stack().proxyUrl, redirectUri: stack().redirectUri, storage, responseMode: 'jwt', navigate: (url) => (authorizationUrl = url) });
    const callback = await logIn(authorizationUrl, stack().redirectUri, 'katherine.johnson');
    const response = callback.searchParams.get('response')!;
    const claims = JSON.parse(Buffer.from(response.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    leaks.secret(String(claims.code));
    return { storage, callback, response, claims };
  }
  const outcome = (url: URL, storage: Storage) => completeLogin({ url: url.href, storage }).then(() => 'completed', (error: LoginError) => error.error);

  it('verifies the signed response with the JWKS from discovery, then redeems its code', async () => {
    const { storage, callback, response } = await jarmCallback();
    expect([...callback.searchParams.keys()]).toEqual(['response']);
    expect(JSON.parse(Buffer.from(response.split('.')[0]!, 'base64url').toString()).alg).toBe('PS256');
    const tokens = await completeLogin({ url: callback.href, storage });
    leaks.secret(tokens.access_token, tokens.id_token);
    expect(tokens.claims?.iss).toBe(stack().issuer);
  });

  it('refuses a forged signature and an unsigned (alg none) response, redeeming nothing', async () => {
    const forged = await jarmCallback();
    const [header, payload, signature] = forged.response.split('.') as [string, string, string];
    forged.callback.searchParams.set('response', `${header}.${payload}.${signature.slice(0, -8)}${signature.slice(-8) === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA'}`);
    expect(await outcome(forged.callback, forged.storage)).toBe('invalid_authorization_response');
    const unsigned = await jarmCallback();
    unsigned.callback.searchParams.set('response', `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${unsigned.response.split('.')[1]}.`);
    expect(await outcome(unsigned.callback, unsigned.storage)).toBe('invalid_authorization_response');
  });

  it('refuses a plain code beside the response, or instead of it', async () => {
    const beside = await jarmCallback();
    beside.callback.searchParams.set('code', String(beside.claims.code));
    expect(await outcome(beside.callback, beside.storage)).toBe('invalid_request');
    const instead = await jarmCallback();
    const plain = new URL(instead.callback.pathname, instead.callback);
    for (const name of ['code', 'state', 'iss']) plain.searchParams.set(name, String(instead.claims[name]));
    expect(await outcome(plain, instead.storage)).toBe('invalid_request');
  });
});

watched.expectNoLeaks(4);

function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, String(value)),
  };
}
