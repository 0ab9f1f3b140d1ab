import { beforeAll, describe, expect, it } from 'vitest';
import { dpopKey, type DpopKeyStore } from '../../client/dpop.ts';
import { completeLogin, LoginError, refreshTokens, startLogin } from '../../client/par-login.ts';
import { startLocalAuthorizationServer } from '../../local/authorization-server.ts';
import { logIn } from '../helpers/browser-session.ts';
import { watchedStack } from '../helpers/watched-stack.ts';
import { loginThroughProxy } from '../helpers/login-flow.ts';

/**
 * FAPI 2.0 end to end in relay mode: the local oidc-provider as a FAPI 2.0 authorization server
 * (Security Profile and Message Signing, local/fapi2.ts) with DPoP nonces required, the proxy with
 * SECURITY_PROFILE=fapi2, which implies DPOP, the SPA client of client/par-login.ts with its DPoP key
 * (WebCrypto, kept in memory here). One stack per file: the local stack points the AWS SDK at its
 * own KMS through process.env. The bff mode: fapi2-bff-oidc-provider.test.ts, bff-dpop-oidc-provider.test.ts.
 */
const watched = watchedStack({ profile: 'fapi2' });
const { leaks } = watched;
const stack = watched.current;

/** The SPA's key store, in memory instead of IndexedDB: a new one is another browser's key. */
const memoryKeyStore = (): DpopKeyStore => {
  let pair: CryptoKeyPair | undefined;
  return {
    get: async () => pair,
    set: async (value) => {
      pair = value;
    },
  };
};

/** An SPA login with DPoP up to the redirect back to the SPA: its storage, key store and callback URL. */
async function spaCallback(options: { responseMode?: 'jwt' } = {}) {
  const storage = memoryStorage();
  const dpopKeyStore = memoryKeyStore();
  let authorizationUrl = '';
  await startLogin({
    proxyUrl: stack().proxyUrl,
    redirectUri: stack().redirectUri,
    scope: 'openid offline_access',
    params: { prompt: 'consent' },
    storage,
    dpop: true,
    dpopKeyStore,
    ...options,
    navigate: (url) => (authorizationUrl = url),
  });
  const callback = await logIn(authorizationUrl, stack().redirectUri, 'katherine.johnson');
  return { storage, dpopKeyStore, callback };
}
/** The token endpoint's outcomes, as oidc-provider reports them: `grant_type error-or-ok`. */
const tokenCalls: string[] = [];
beforeAll(() => {
  const { provider } = stack().authorizationServer;
  const record = (ctx: { oidc: { params?: Record<string, unknown> } }, error?: { error?: string }) => tokenCalls.push(`${String(ctx.oidc.params?.grant_type)} ${error?.error ?? 'ok'}`);
  provider.on('grant.success', (ctx) => record(ctx as never));
  provider.on('grant.error', (ctx, error) => record(ctx as never, error as never));
});
const complete = (url: URL, storage: Storage, dpopKeyStore: DpopKeyStore) => completeLogin({ url: url.href, storage, dpopKeyStore });

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
      // dpop_jkt: the proxy (DPoP on with the profile) wants one before it pushes.
      const answer = await loginThroughProxy(stack(), { dpop_jkt: (await dpopKey(memoryKeyStore())).jkt }).catch((error: Error) => error);
      expect(String(answer)).toMatch(/\/par answered 502: .*"error":"(invalid_client|invalid_request_object)"/);
    } finally {
      stack().redeploy({});
    }
  });
});

describe('relay mode under the profile', () => {
  it('a login completes: PAR, private_key_jwt with aud = the issuer, PKCE, the PS256 ID token, a DPoP token after one use_dpop_nonce', async () => {
    tokenCalls.length = 0;
    const { storage, dpopKeyStore, callback } = await spaCallback();
    expect(callback.searchParams.get('iss')).toBe(stack().issuer);
    leaks.secret(callback.searchParams.get('code'));
    const tokens = await complete(callback, storage, dpopKeyStore);
    leaks.secret(tokens.access_token, tokens.id_token, tokens.refresh_token);
    expect(tokens.token_type).toBe('DPoP');
    expect(JSON.parse(Buffer.from(String(tokens.id_token).split('.')[0]!, 'base64url').toString()).alg).toBe('PS256');
    expect(tokens.claims?.iss).toBe(stack().issuer);
    // RFC 9449 8: the file's first redemption: the server's nonce, asked for once, then the code redeemed with a proof of the SPA's key.
    expect(tokenCalls).toEqual(['authorization_code use_dpop_nonce', 'authorization_code ok']);
  });

  it('refreshes with the sealed refresh token and the same key; another key is invalid_grant at the proxy', async () => {
    const { storage, dpopKeyStore, callback } = await spaCallback();
    leaks.secret(callback.searchParams.get('code'));
    const tokens = await complete(callback, storage, dpopKeyStore);
    leaks.secret(tokens.access_token, tokens.id_token, tokens.refresh_token);
    // The proxy's JWE (README "DPoP in relay mode"), not the server's refresh token.
    expect(JSON.parse(Buffer.from(tokens.refresh_token!.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'dir', enc: 'A256GCM' });
    const refreshed = await refreshTokens(stack().proxyUrl, tokens.refresh_token!, { tokenEndpoint: tokens.tokenEndpoint!, keyStore: dpopKeyStore });
    leaks.secret(refreshed.access_token, refreshed.refresh_token);
    expect(refreshed.token_type).toBe('DPoP');
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    const thief = refreshTokens(stack().proxyUrl, refreshed.refresh_token!, { tokenEndpoint: tokens.tokenEndpoint!, keyStore: memoryKeyStore() });
    await expect(thief).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it("the SPA client refuses a response without iss even when the proxy reads no metadata (RFC 9207 2.4), and a mix-up's iss", async () => {
    // Both endpoints configured: no discovery document, so only the profile says iss is always sent.
    stack().redeploy({ PAR_ENDPOINT: `${stack().issuer}/request`, AUTHORIZATION_ENDPOINT: `${stack().issuer}/auth` });
    try {
      for (const tamper of [(url: URL) => url.searchParams.delete('iss'), (url: URL) => url.searchParams.set('iss', 'https://attacker.example')]) {
        const { storage, dpopKeyStore, callback } = await spaCallback();
        expect(callback.searchParams.get('iss')).toBe(stack().issuer);
        leaks.secret(callback.searchParams.get('code'));
        tamper(callback);
        const error = await complete(callback, storage, dpopKeyStore).catch((failure: unknown) => failure);
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
    const { storage, dpopKeyStore, callback } = await spaCallback({ responseMode: 'jwt' });
    const response = callback.searchParams.get('response')!;
    const claims = JSON.parse(Buffer.from(response.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    leaks.secret(String(claims.code));
    return { storage, dpopKeyStore, callback, response, claims };
  }
  const outcome = (url: URL, { storage, dpopKeyStore }: { storage: Storage; dpopKeyStore: DpopKeyStore }) =>
    complete(url, storage, dpopKeyStore).then(() => 'completed', (error: LoginError) => error.error);

  it('verifies the signed response with the JWKS from discovery, then redeems its code', async () => {
    const { storage, dpopKeyStore, callback, response } = await jarmCallback();
    expect([...callback.searchParams.keys()]).toEqual(['response']);
    expect(JSON.parse(Buffer.from(response.split('.')[0]!, 'base64url').toString()).alg).toBe('PS256');
    const tokens = await complete(callback, storage, dpopKeyStore);
    leaks.secret(tokens.access_token, tokens.id_token, tokens.refresh_token);
    expect(tokens.token_type).toBe('DPoP');
    expect(tokens.claims?.iss).toBe(stack().issuer);
  });

  it('refuses a forged signature and an unsigned (alg none) response, redeeming nothing', async () => {
    const forged = await jarmCallback();
    const [header, payload, signature] = forged.response.split('.') as [string, string, string];
    forged.callback.searchParams.set('response', `${header}.${payload}.${signature.slice(0, -8)}${signature.slice(-8) === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA'}`);
    expect(await outcome(forged.callback, forged)).toBe('invalid_authorization_response');
    const unsigned = await jarmCallback();
    unsigned.callback.searchParams.set('response', `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${unsigned.response.split('.')[1]}.`);
    expect(await outcome(unsigned.callback, unsigned)).toBe('invalid_authorization_response');
  });

  it('refuses a plain code beside the response, or instead of it', async () => {
    const beside = await jarmCallback();
    beside.callback.searchParams.set('code', String(beside.claims.code));
    expect(await outcome(beside.callback, beside)).toBe('invalid_request');
    const instead = await jarmCallback();
    const plain = new URL(instead.callback.pathname, instead.callback);
    for (const name of ['code', 'state', 'iss']) plain.searchParams.set(name, String(instead.claims[name]));
    expect(await outcome(plain, instead)).toBe('invalid_request');
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
