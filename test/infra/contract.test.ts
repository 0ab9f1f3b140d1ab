import { describe, expect, it } from 'vitest';
import { loadJwksConfig, loadParConfig, loadTokenConfig } from '../../functions/core/config.ts';
import { METRICS_NAMESPACE as HANDLERS_NAMESPACE } from '../../functions/app/observability.ts';
import { METRICS_NAMESPACE } from '../../infra/proxy-functions.ts';
import { assertionKeyOf, clientSecretIdOf, functionEnv, resolvedEnv, synthesize } from './helpers.ts';

/**
 * The stack and the handlers agree: the environment each function gets is one its own loader
 * (functions/core/config.ts) accepts, with the values the deployment asked for.
 */
describe('infra and handlers contract', () => {
  it('the metrics namespace is the one the handlers publish to', () => {
    expect(METRICS_NAMESPACE).toBe(HANDLERS_NAMESPACE);
  });

  it('client_secret_post: every handler loads its environment', () => {
    const { template } = synthesize({ requestObjectTtl: '90', allowedRedirectUris: 'https://app.example.com/cb,http://localhost:5173/cb' });
    const par = loadParConfig(resolvedEnv(functionEnv(template, 'par')));
    expect(par).toMatchObject({ issuer: 'https://tenant.auth0.com/', clientId: 'abc', authMethod: 'client_secret_post', requestObjectTtl: 90 });
    expect(clientSecretIdOf(par)).toMatch(/^arn:aws:secretsmanager:/);
    expect([...par.allowedRedirectUris]).toEqual(['https://app.example.com/cb', 'http://localhost:5173/cb']);
    expect(par.signingKey).toMatchObject({ alg: 'PS256' });
    expect(par.signingKey.kid).toBeUndefined();
    expect(loadTokenConfig(resolvedEnv(functionEnv(template, 'token')))).toMatchObject({ authMethod: 'client_secret_post' });
    expect(loadJwksConfig(resolvedEnv(functionEnv(template, 'jwks'))).keys).toHaveLength(1);
  }, 60_000);

  it('allowPromptNone reaches the par function only, as ALLOW_PROMPT_NONE; off by default', () => {
    const off = synthesize({}).template;
    expect(loadParConfig(resolvedEnv(functionEnv(off, 'par'))).allowPromptNone).toBe(false);
    const { template } = synthesize({ allowPromptNone: 'true' });
    expect(functionEnv(template, 'par').ALLOW_PROMPT_NONE).toBe('true');
    expect(loadParConfig(resolvedEnv(functionEnv(template, 'par'))).allowPromptNone).toBe(true);
    for (const name of ['token', 'jwks'] as const) expect(functionEnv(template, name)).not.toHaveProperty('ALLOW_PROMPT_NONE');
  }, 60_000);

  it('private_key_jwt with a separate assertion key: assertion key and kids reach the handlers', () => {
    const { template } = synthesize({
      clientAuthMethod: 'private_key_jwt',
      assertionKey: 'separate',
      signingKid: 'ro-1',
      assertionKid: 'ca-1',
      publishedKeyArns: 'arn:aws:kms:eu-west-1:111122223333:key/0b5f2c1e-1111-2222-3333-444455556666',
    });
    const par = loadParConfig(resolvedEnv(functionEnv(template, 'par')));
    expect(clientSecretIdOf(par)).toBeUndefined();
    expect(par.signingKey.kid).toBe('ro-1');
    expect(assertionKeyOf(par)?.kid).toBe('ca-1');
    expect(assertionKeyOf(par)?.keyId).not.toBe(par.signingKey.keyId);
    const token = loadTokenConfig(resolvedEnv(functionEnv(template, 'token')));
    expect(assertionKeyOf(token)).toEqual(assertionKeyOf(par));
    const jwks = loadJwksConfig(resolvedEnv(functionEnv(template, 'jwks')));
    expect(jwks.keys.map((key) => key.kid)).toEqual(['ro-1', 'ca-1', undefined]);
  }, 60_000);

  it('during a rotation: the active generations sign, the others are published, every loader accepts it', () => {
    const { template } = synthesize({
      clientAuthMethod: 'private_key_jwt',
      assertionKey: 'separate',
      signingKeyGenerations: '1,2',
      activeSigningKey: '2',
      assertionKeyGenerations: '1,2',
    });
    const par = loadParConfig(resolvedEnv(functionEnv(template, 'par')));
    const token = loadTokenConfig(resolvedEnv(functionEnv(template, 'token')));
    const jwks = loadJwksConfig(resolvedEnv(functionEnv(template, 'jwks')));
    expect(assertionKeyOf(token)).toEqual(assertionKeyOf(par));
    const ids = jwks.keys.map((key) => key.keyId);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    expect(ids.slice(0, 2)).toEqual([par.signingKey.keyId, assertionKeyOf(par)!.keyId]);
    expect(jwks.keys.every((key) => key.kid === undefined)).toBe(true);
  }, 60_000);

  it('private_key_jwt: client assertions use their own key by default, the request object key with assertionKey=shared or published', () => {
    for (const [context, shared] of [[{}, false], [{ assertionKey: 'shared' }, true], [{ assertionKey: 'published' }, true]] as const) {
      const { template } = synthesize({ clientAuthMethod: 'private_key_jwt', ...context });
      const token = loadTokenConfig(resolvedEnv(functionEnv(template, 'token')));
      const par = loadParConfig(resolvedEnv(functionEnv(template, 'par')));
      expect(assertionKeyOf(token)).toEqual(assertionKeyOf(par));
      expect(assertionKeyOf(token)?.keyId === par.signingKey.keyId, JSON.stringify(context)).toBe(shared);
    }
  }, 60_000);

  it('assertionKey=published: the JWKS publishes the new key as a key that signs nothing yet', () => {
    for (const context of [{ clientAuthMethod: 'private_key_jwt', assertionKey: 'published' }, { assertionKey: 'published' }]) {
      const { template } = synthesize(context);
      const jwks = loadJwksConfig(resolvedEnv(functionEnv(template, 'jwks')));
      expect(jwks.keys.map((key) => key.active), JSON.stringify(context)).toEqual([true, false]);
    }
  }, 60_000);
});
