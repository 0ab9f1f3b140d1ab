import { describe, expect, it } from 'vitest';
import { loadParConfig, loadTokenConfig } from '../../functions/core/config.ts';

/** DPOP (functions/settings/table.ts) as relay's par and token functions read it at cold start. */
const ENV = {
  ISSUER: 'https://tenant.auth0.com/',
  CLIENT_ID: 'abc',
  CLIENT_SECRET_ID: 'par/client',
  KMS_KEY_ID: 'alias/par',
  ALLOWED_ORIGINS: 'https://app.example.com',
  ALLOWED_REDIRECT_URIS: 'https://app.example.com/callback',
};

describe('DPOP in relay mode', () => {
  it('is off by default: token reads no session keys, par asks for no dpop_jkt', () => {
    expect(loadTokenConfig(ENV).dpop).toBeUndefined();
    expect(loadParConfig(ENV).dpop).toBe(false);
  });

  it('token needs SESSION_KEYS_SECRET_ID with DPOP=true, and says so naming it', () => {
    expect(() => loadTokenConfig({ ...ENV, DPOP: 'true' })).toThrow(/^SESSION_KEYS_SECRET_ID: is required with DPOP=true/);
    expect(loadTokenConfig({ ...ENV, DPOP: 'true', SESSION_KEYS_SECRET_ID: 'par/session-keys' }).dpop).toEqual({ sessionKeysSecretId: 'par/session-keys' });
  });

  it('refuses anything but true or false, naming the variable', () => {
    expect(() => loadTokenConfig({ ...ENV, DPOP: 'yes' })).toThrow(/^DPOP: /);
    expect(() => loadParConfig({ ...ENV, DPOP: '1' })).toThrow(/^DPOP: /);
  });

  it('par reads TOKEN_ENDPOINT too: the htu it names to the SPA', () => {
    expect(loadParConfig({ ...ENV, DPOP: 'true', TOKEN_ENDPOINT: 'https://tenant.auth0.com/oauth/token' }).tokenEndpoint).toBe('https://tenant.auth0.com/oauth/token');
  });
});
