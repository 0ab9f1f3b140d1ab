import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DpopKeyStore } from '../../client/dpop.ts';
import { completeLogin, LoginError, refreshTokens, startLogin } from '../../client/par-login.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { logIn } from '../helpers/browser-session.ts';

/**
 * client/par-login.ts with `dpop: true`, in Node (WebCrypto, fetch; the key kept in memory instead
 * of IndexedDB), through the local stack's HTTP server to oidc-provider with DPoP nonces required:
 * the SPA's side of RFC 9449 against the real server.
 */
let stack: LocalStack;
/** Token endpoint calls and their answers, as the authorization server saw them. */
const tokenCalls: { status: number; dpop: boolean }[] = [];

beforeAll(async () => {
  stack = await startLocalStack({ dpop: true });
  // Every token request ends in one of these (the provider's middleware is composed at start).
  const { provider } = stack.authorizationServer;
  const hasProof = (ctx: { get(name: string): string }) => ctx.get('dpop') !== '';
  provider.on('grant.success', (ctx) => tokenCalls.push({ status: 200, dpop: hasProof(ctx) }));
  provider.on('grant.error', (ctx, error) => tokenCalls.push({ status: (error as { statusCode?: number }).statusCode ?? 0, dpop: hasProof(ctx) }));
}, 30_000);
afterAll(() => stack?.close());

class MemoryStorage {
  private readonly items = new Map<string, string>();
  getItem = (key: string) => this.items.get(key) ?? null;
  setItem = (key: string, value: string) => void this.items.set(key, value);
  removeItem = (key: string) => void this.items.delete(key);
}

const memoryKeyStore = (): DpopKeyStore & { pair?: CryptoKeyPair } => {
  const store: DpopKeyStore & { pair?: CryptoKeyPair } = {
    get: async () => store.pair,
    set: async (pair) => {
      store.pair = pair;
    },
  };
  return store;
};

async function login(keyStore: DpopKeyStore) {
  const storage = new MemoryStorage() as unknown as Storage;
  let authorizationUrl = '';
  await startLogin({
    proxyUrl: stack.proxyUrl,
    redirectUri: stack.redirectUri,
    scope: 'openid offline_access',
    params: { prompt: 'consent' },
    storage,
    dpop: true,
    dpopKeyStore: keyStore,
    navigate: (url) => {
      authorizationUrl = url;
    },
  });
  const callback = await logIn(authorizationUrl, stack.redirectUri, 'hedy.lamarr');
  return completeLogin({ url: callback.href, storage, dpopKeyStore: keyStore });
}

describe('the SPA client with DPoP (RFC 9449) against oidc-provider', () => {
  it('logs in: dpop_jkt from its key, the code redeemed with its proof after one use_dpop_nonce retry, a DPoP token', async () => {
    const keyStore = memoryKeyStore();
    tokenCalls.length = 0;
    const tokens = await login(keyStore);
    expect(tokens.token_type).toBe('DPoP');
    expect(tokens.claims?.sub).toBe('hedy.lamarr');
    expect(tokens.tokenEndpoint).toBe(`${stack.issuer}/token`);
    // RFC 9449 8: the first proof has no nonce, the server asks for one, the one retry succeeds.
    expect(tokenCalls).toEqual([{ status: 400, dpop: true }, { status: 200, dpop: true }]);
    // The key never left WebCrypto: its private half cannot be exported.
    await expect(crypto.subtle.exportKey('jwk', keyStore.pair!.privateKey)).rejects.toThrow();
  });

  it('refreshes with the same key, with the nonce it remembered: one call', async () => {
    const keyStore = memoryKeyStore();
    const tokens = await login(keyStore);
    tokenCalls.length = 0;
    const refreshed = await refreshTokens(stack.proxyUrl, tokens.refresh_token!, { tokenEndpoint: tokens.tokenEndpoint!, keyStore });
    expect(refreshed.token_type).toBe('DPoP');
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(tokenCalls).toEqual([{ status: 200, dpop: true }]);
  });

  it("refuses a refresh with another key: invalid_grant from the proxy, nothing reaches the server", async () => {
    const tokens = await login(memoryKeyStore());
    tokenCalls.length = 0;
    const refused = refreshTokens(stack.proxyUrl, tokens.refresh_token!, { tokenEndpoint: tokens.tokenEndpoint!, keyStore: memoryKeyStore() });
    await expect(refused).rejects.toBeInstanceOf(LoginError);
    await expect(refused).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(tokenCalls).toEqual([]);
  });
});
