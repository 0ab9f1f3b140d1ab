import { describe, expect, it } from 'vitest';
import { loadJwksConfig, loadParConfig, loadTokenConfig } from '../../functions/core/config.ts';
import { ConfigError } from '../../functions/core/errors.ts';

const env = {
  ISSUER: 'https://tenant.auth0.com/',
  CLIENT_ID: 'abc',
  CLIENT_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:1:secret:x',
  KMS_KEY_ID: 'alias/par',
  ALLOWED_REDIRECT_URIS: 'https://app.example.com/callback, https://app.example.com/other',
  ALLOWED_ORIGINS: 'https://app.example.com',
};

function configError(overrides: Record<string, string | undefined>): ConfigError {
  try {
    loadParConfig({ ...env, ...overrides });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('the configuration was accepted');
}

describe('loadParConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadParConfig(env);
    expect(config.issuer).toBe('https://tenant.auth0.com/');
    expect(config.authMethod).toBe('client_secret_post');
    expect(config.signingKey).toEqual({ keyId: 'alias/par', alg: 'PS256' });
    expect(config.requestObjectTtl).toBe(60);
    expect(config.upstreamTimeoutMs).toBe(3000);
    expect([...config.allowedRedirectUris]).toEqual(['https://app.example.com/callback', 'https://app.example.com/other']);
    expect([...config.allowedOrigins]).toEqual(['https://app.example.com']);
    expect(config.parEndpoint).toBeUndefined();
    expect(config.allowPromptNone).toBe(false);
  });

  it('reads ALLOW_PROMPT_NONE as exactly true or false', () => {
    expect(loadParConfig({ ...env, ALLOW_PROMPT_NONE: 'true' }).allowPromptNone).toBe(true);
    expect(loadParConfig({ ...env, ALLOW_PROMPT_NONE: ' false ' }).allowPromptNone).toBe(false);
    expect(loadParConfig({ ...env, ALLOW_PROMPT_NONE: '' }).allowPromptNone).toBe(false);
  });

  it.each([
    ['ISSUER', { ISSUER: undefined }],
    ['ISSUER', { ISSUER: 'http://tenant.auth0.com/' }],
    ['ISSUER', { ISSUER: 'not a url' }],
    ['CLIENT_ID', { CLIENT_ID: '' }],
    ['CLIENT_SECRET_ID', { CLIENT_SECRET_ID: undefined }],
    ['CLIENT_AUTH_METHOD', { CLIENT_AUTH_METHOD: 'none' }],
    ['KMS_KEY_ID', { KMS_KEY_ID: undefined }],
    ['SIGNING_ALG', { SIGNING_ALG: 'HS256' }],
    ['ALLOWED_REDIRECT_URIS', { ALLOWED_REDIRECT_URIS: '' }],
    ['ALLOWED_REDIRECT_URIS', { ALLOWED_REDIRECT_URIS: 'https://a.example/cb#frag' }],
    ['ALLOWED_ORIGINS', { ALLOWED_ORIGINS: 'https://app.example.com/' }],
    ['REQUEST_OBJECT_TTL', { REQUEST_OBJECT_TTL: '0' }],
    ['REQUEST_OBJECT_TTL', { REQUEST_OBJECT_TTL: '3601' }],
    ['REQUEST_OBJECT_TTL', { REQUEST_OBJECT_TTL: '1e2' }],
    ['UPSTREAM_TIMEOUT_MS', { UPSTREAM_TIMEOUT_MS: '20000' }],
    ['PAR_ENDPOINT', { PAR_ENDPOINT: 'ftp://x/par' }],
    ['ALLOW_PROMPT_NONE', { ALLOW_PROMPT_NONE: 'yes' }],
    ['ALLOW_PROMPT_NONE', { ALLOW_PROMPT_NONE: 'TRUE' }],
    ['ALLOW_PROMPT_NONE', { ALLOW_PROMPT_NONE: '1' }],
  ])('names %s when it is missing or invalid', (variable, overrides) => {
    const error = configError(overrides);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
  });

  it('accepts http only for loopback hosts (the local stack)', () => {
    expect(loadParConfig({ ...env, ISSUER: 'http://127.0.0.1:3001' }).issuer).toBe('http://127.0.0.1:3001');
  });

  it('needs no secret with private_key_jwt: a secret or an assertion key, never neither', () => {
    const config = loadParConfig({ ...env, CLIENT_AUTH_METHOD: 'private_key_jwt', CLIENT_SECRET_ID: undefined });
    expect(config).toMatchObject({ authMethod: 'private_key_jwt', assertionKey: { keyId: 'alias/par', alg: 'PS256' } });
    expect(config).not.toHaveProperty('clientSecretId');
    expect(loadParConfig(env)).toMatchObject({ authMethod: 'client_secret_post', clientSecretId: env.CLIENT_SECRET_ID });
    expect(loadParConfig(env)).not.toHaveProperty('assertionKey');
    const separate = loadTokenConfig({ ...env, CLIENT_AUTH_METHOD: 'private_key_jwt', CLIENT_ASSERTION_KMS_KEY_ID: 'alias/assert', CLIENT_ASSERTION_KID: 'a1' });
    expect(separate).toMatchObject({ assertionKey: { keyId: 'alias/assert', alg: 'PS256', kid: 'a1' } });
  });

  it('refuses an issuer with a query (RFC 8414 2: no query or fragment)', () => {
    const error = configError({ ISSUER: 'https://tenant.auth0.com/?tenant=a' });
    expect(error.variable).toBe('ISSUER');
    expect(error.message).toMatch(/query/);
  });

  it('requires ALLOWED_ORIGINS in the functions that answer browsers', () => {
    expect(configError({ ALLOWED_ORIGINS: undefined }).variable).toBe('ALLOWED_ORIGINS');
    expect(() => loadTokenConfig({ ...env, ALLOWED_ORIGINS: ' , ' })).toThrow(/ALLOWED_ORIGINS: is required/);
    // The JWKS answers authorization servers, not browsers.
    expect(loadJwksConfig({ KMS_KEY_ID: 'alias/par' }).keys).toHaveLength(1);
  });

  it('names every bad variable at once', () => {
    const error = configError({ ISSUER: undefined, CLIENT_ID: undefined, REQUEST_OBJECT_TTL: '0', CLIENT_SECRET_ID: undefined });
    expect(error.variable).toBe('ISSUER');
    expect(error.more.map((problem) => problem.name).sort()).toEqual(['CLIENT_ID', 'CLIENT_SECRET_ID', 'REQUEST_OBJECT_TTL']);
    expect(error.message).toMatch(/^ISSUER: is required; .*CLIENT_SECRET_ID: is required with CLIENT_AUTH_METHOD=client_secret_post or client_secret_basic/);
  });

  it('reads the token and jwks configurations', () => {
    expect(loadTokenConfig({ ...env, TOKEN_ENDPOINT: 'https://tenant.auth0.com/oauth/token' }).tokenEndpoint).toBe(
      'https://tenant.auth0.com/oauth/token',
    );
    expect(loadJwksConfig({ KMS_KEY_ID: 'alias/par', SIGNING_KID: 'k1' }).keys).toEqual([
      { keyId: 'alias/par', alg: 'PS256', kid: 'k1', active: true },
    ]);
  });

  it('marks the keys that sign as active, the published-only ones not, and lists each key once', () => {
    const config = loadJwksConfig({
      KMS_KEY_ID: 'alias/par',
      SIGNING_KID: 'k1',
      CLIENT_ASSERTION_KMS_KEY_ID: 'alias/assert',
      PUBLISHED_KMS_KEY_IDS: 'arn:next, alias/par ,arn:old',
    });
    // A published entry naming an active key keeps the active entry (and its fixed kid).
    expect(config.keys).toEqual([
      { keyId: 'alias/par', alg: 'PS256', kid: 'k1', active: true },
      { keyId: 'alias/assert', alg: 'PS256', active: true },
      { keyId: 'arn:next', alg: 'PS256', active: false },
      { keyId: 'arn:old', alg: 'PS256', active: false },
    ]);
  });
});
