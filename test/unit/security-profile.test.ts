import { describe, expect, it } from 'vitest';
import { loadBffConfig, loadParConfig, loadTokenConfig } from '../../functions/core/config.ts';
import { ConfigError } from '../../functions/core/errors.ts';

/**
 * SECURITY_PROFILE=fapi2 (FAPI 2.0 Security Profile): one setting that fixes PS256 and
 * private_key_jwt; a configuration that contradicts it fails the start (the functions' cold start,
 * the deployment's synthesis: test/unit/settings.test.ts) with a message naming the setting and the profile.
 */
const FAPI_ENV = {
  ISSUER: 'https://as.example.com',
  CLIENT_ID: 'abc',
  CLIENT_AUTH_METHOD: 'private_key_jwt',
  KMS_KEY_ID: 'alias/par',
  ALLOWED_REDIRECT_URIS: 'https://app.example.com/callback',
  ALLOWED_ORIGINS: 'https://app.example.com',
  SECURITY_PROFILE: 'fapi2',
};
const BFF_ENV = {
  ...FAPI_ENV,
  ALLOWED_REDIRECT_URIS: undefined,
  PROXY_MODE: 'bff',
  REDIRECT_URI: 'https://app.example.com/callback',
  SESSION_KEYS_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:1:secret:s',
};

function refusal(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('SECURITY_PROFILE=fapi2 in the functions', () => {
  it('is off by default and exposed as config.fapi2', () => {
    expect(loadParConfig({ ...FAPI_ENV, SECURITY_PROFILE: undefined }).fapi2).toBe(false);
    expect(loadParConfig(FAPI_ENV).fapi2).toBe(true);
    expect(loadTokenConfig({ ...FAPI_ENV, SESSION_KEYS_SECRET_ID: BFF_ENV.SESSION_KEYS_SECRET_ID }).fapi2).toBe(true);
    expect(loadBffConfig(BFF_ENV).fapi2).toBe(true);
  });

  it('implies DPoP-bound tokens in both modes (FAPI 2.0 Security Profile 5.3.2.2); DPOP=false fails the start naming both', () => {
    expect(loadParConfig(FAPI_ENV).dpop).toBe(true);
    expect(loadTokenConfig({ ...FAPI_ENV, SESSION_KEYS_SECRET_ID: BFF_ENV.SESSION_KEYS_SECRET_ID }).dpop?.sessionKeysSecretId).toBe(BFF_ENV.SESSION_KEYS_SECRET_ID);
    expect(loadBffConfig(BFF_ENV).dpop).toBe(true);
    expect(loadParConfig({ ...FAPI_ENV, SECURITY_PROFILE: undefined }).dpop).toBe(false);
    // Relay's token function seals the refresh tokens: the implied DPoP needs the session keys too.
    expect(refusal(() => loadTokenConfig(FAPI_ENV)).message).toMatch(/^SESSION_KEYS_SECRET_ID: is required with SECURITY_PROFILE=fapi2, which implies DPOP=true/);
    for (const load of [() => loadParConfig({ ...FAPI_ENV, DPOP: 'false' }), () => loadBffConfig({ ...BFF_ENV, DPOP: 'false' })]) {
      const error = refusal(load);
      expect(error.variable).toBe('DPOP');
      expect(error.message).toMatch(/^DPOP: must be true or unset \(sender-constrained tokens\), got false, with SECURITY_PROFILE=fapi2 \(FAPI 2.0\)/);
    }
  });

  it('refuses a value it does not know', () => {
    expect(refusal(() => loadParConfig({ ...FAPI_ENV, SECURITY_PROFILE: 'fapi' })).message).toMatch(/^SECURITY_PROFILE: must be one of none, fapi2/);
  });

  it.each([
    ['SIGNING_ALG', { SIGNING_ALG: 'RS256' }, /^SIGNING_ALG: must be PS256, got RS256, with SECURITY_PROFILE=fapi2/],
    ['CLIENT_AUTH_METHOD', { CLIENT_AUTH_METHOD: 'client_secret_post', CLIENT_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:1:secret:x' }, /^CLIENT_AUTH_METHOD: must be private_key_jwt, got client_secret_post: no client secret is allowed with SECURITY_PROFILE=fapi2/],
    ['CLIENT_SECRET_ID', { CLIENT_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:1:secret:x' }, /^CLIENT_SECRET_ID: must be unset: no client secret is allowed with SECURITY_PROFILE=fapi2/],
  ])('fails the cold start when %s contradicts it, naming both', (variable, change, message) => {
    for (const load of [() => loadParConfig({ ...FAPI_ENV, ...change }), () => loadTokenConfig({ ...FAPI_ENV, ...change }), () => loadBffConfig({ ...BFF_ENV, ...change })]) {
      const error = refusal(load);
      expect(error.variable).toBe(variable);
      expect(error.message).toMatch(message);
    }
  });

  it('names every contradiction at once', () => {
    const error = refusal(() => loadParConfig({ ...FAPI_ENV, SIGNING_ALG: 'RS384', CLIENT_AUTH_METHOD: 'client_secret_basic', CLIENT_SECRET_ID: 'x' }));
    expect([error.variable, ...error.more.map((problem) => problem.name)]).toEqual(['SIGNING_ALG', 'CLIENT_AUTH_METHOD', 'CLIENT_SECRET_ID']);
  });

  it('the bff answers with JARM (response_mode=jwt) by default under the profile, with the query otherwise; RESPONSE_MODE chooses', () => {
    expect(loadBffConfig(BFF_ENV).responseMode).toBe('jwt');
    expect(loadBffConfig({ ...BFF_ENV, RESPONSE_MODE: 'query' }).responseMode).toBe('query');
    expect(loadBffConfig({ ...BFF_ENV, SECURITY_PROFILE: undefined }).responseMode).toBe('query');
    expect(loadBffConfig({ ...BFF_ENV, SECURITY_PROFILE: undefined, RESPONSE_MODE: 'jwt' }).responseMode).toBe('jwt');
    expect(refusal(() => loadBffConfig({ ...BFF_ENV, RESPONSE_MODE: 'fragment' })).variable).toBe('RESPONSE_MODE');
  });
});
