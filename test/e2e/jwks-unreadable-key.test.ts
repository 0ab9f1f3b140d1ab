import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { loginThroughProxy } from '../helpers/login-flow.ts';

/**
 * Disabling a key that is still listed (SECURITY.md's response to a compromise, while the rotation
 * keeps the old generation published) must not stop logins at an authorization server that reads
 * the proxy's JWKS through jwks_uri: oidc-provider fetches it to verify each request object.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ clientJwksUri: true });
});
afterAll(() => stack.close());

describe('a listed key that KMS will not read', () => {
  it('disabled in KMS and still in PUBLISHED_KMS_KEY_IDS: logins go on', async () => {
    const old = stack.kms.createKey();
    stack.kms.setKeyState(old.arn, 'Disabled');
    stack.redeploy({ PUBLISHED_KMS_KEY_IDS: old.arn });
    const response = await fetch(`${stack.proxyUrl}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { keys: unknown[] }).keys).toHaveLength(1);
    const { idTokenClaims } = await loginThroughProxy(stack);
    expect(idTokenClaims.sub).toBe('katherine.johnson');
  });
});
