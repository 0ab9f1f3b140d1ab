import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { LOCAL_KEY_ALIAS, publicJwk, startLocalStack, type LocalStack } from '../../local/stack.ts';
import { loginThroughProxy } from '../helpers/login-flow.ts';

/**
 * Zero-downtime rotation of the signing key, end to end: oidc-provider reads the proxy's JWKS
 * through jwks_uri, logins run continuously, and the procedure of docs/key-rotation.md is applied:
 * publish the next key, let the authorization server's cache expire, move the alias, keep the old
 * key published until what it signed has expired, then retire it. Not one login may fail.
 */
let stack: LocalStack;
const kidsSeen: string[] = [];

beforeAll(async () => {
  // private_key_jwt with one key: the alias move rotates request objects and client assertions together.
  stack = await startLocalStack({ authMethod: 'private_key_jwt', clientJwksUri: true });
  stack.authorizationServer.provider.on('pushed_authorization_request.success', (ctx) => {
    kidsSeen.push(String(decodeProtectedHeader(String((ctx.oidc.body as Record<string, unknown>).request)).kid));
  });
});
afterAll(() => stack.close());

/**
 * The authorization server caches the JWKS for its max-age (the proxy sends 300 s). The procedure
 * waits that long; the test makes oidc-provider's cache stale instead of sleeping.
 */
async function authorizationServerCacheExpires(): Promise<void> {
  const client = await stack.authorizationServer.provider.Client.find(stack.clientId);
  (client as unknown as { asymmetricKeyStore: { freshUntil: number } }).asymmetricKeyStore.freshUntil = 0;
}

async function publishedKids(): Promise<string[]> {
  const response = await fetch(`${stack.proxyUrl}/.well-known/jwks.json`);
  return ((await response.json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
}

describe('rotating the signing key while logins run', () => {
  it('loses no login', async () => {
    const outcomes: (string | undefined)[] = [];
    let running = true;
    const logins = (async () => {
      // Bounded: at most 200 logins, and it stops when the rotation is done.
      for (let i = 0; running && i < 200; i += 1) {
        outcomes.push(await loginThroughProxy(stack).then(() => undefined, (error: Error) => error.message));
      }
    })();
    const settle = async (count: number) => {
      const target = outcomes.length + count;
      for (let i = 0; outcomes.length < target && i < 400; i += 1) await new Promise((r) => setTimeout(r, 25));
    };

    const oldKey = stack.kms.publicKeyOf(LOCAL_KEY_ALIAS);
    const oldKid = (await publicJwk(oldKey, 'PS256')).kid;
    await settle(3);

    // 1. Create the next key and publish it before it signs anything (a deploy).
    const next = stack.kms.createKey();
    const nextKid = (await publicJwk(next.publicKey, 'PS256')).kid;
    stack.redeploy({ PUBLISHED_KMS_KEY_IDS: next.arn });
    expect(await publishedKids()).toEqual([oldKid, nextKid]);
    await settle(3);

    // 2. Wait until the authorization server has seen it (its cache's max-age).
    await authorizationServerCacheExpires();
    await settle(3);

    // 3. The switch: move the alias. Warm containers notice through Sign's KeyId and re-read the kid.
    stack.kms.updateAlias(LOCAL_KEY_ALIAS, next.keyId);
    await settle(5);

    // 4. Keep the old key published until every request object and assertion it signed has expired
    //    (REQUEST_OBJECT_TTL + 5 s of nbf skew; assertions live 60 s), then retire it (a deploy).
    stack.redeploy({ PUBLISHED_KMS_KEY_IDS: '' });
    expect(await publishedKids()).toEqual([nextKid]);
    await authorizationServerCacheExpires();
    await settle(3);

    running = false;
    await logins;
    expect(outcomes.filter((outcome) => outcome !== undefined)).toEqual([]);
    expect(outcomes.length).toBeGreaterThanOrEqual(17);
    // Both keys signed: the old one before the switch, only the new one after.
    expect(kidsSeen[0]).toBe(oldKid);
    expect(kidsSeen.at(-1)).toBe(nextKid);
    expect(kidsSeen.slice(kidsSeen.indexOf(nextKid))).not.toContain(oldKid);
  }, 60_000);

  it('fails logins when the alias moves before the next key is published (why step 1 comes first)', async () => {
    const unpublished = stack.kms.createKey();
    stack.kms.updateAlias(LOCAL_KEY_ALIAS, unpublished.keyId);
    await expect(loginThroughProxy(stack)).rejects.toThrow(/\/par answered 502.*invalid_client|invalid_request_object/);
  });
});
