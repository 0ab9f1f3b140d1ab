import { describe, expect, it } from 'vitest';
import { parseIntent } from '../../functions/core/intent.ts';
import { NBF_SKEW_SECONDS, newJti, requestObjectClaims } from '../../functions/core/request-object.ts';
import { CODE_CHALLENGE } from '../helpers/events.ts';

const intent = parseIntent(
  {
    redirect_uri: 'https://app.example.com/callback',
    code_challenge: CODE_CHALLENGE,
    code_challenge_method: 'S256',
    state: 's',
    scope: 'openid',
  },
  { allowedRedirectUris: new Set(['https://app.example.com/callback']), authorizationDetailsTypes: new Set() },
);
const now = Date.UTC(2026, 10, 28, 12, 0, 0, 400);
const context = { clientId: 'abc', issuer: 'https://tenant.auth0.com/', ttl: 60, now };

describe('requestObjectClaims', () => {
  const claims = requestObjectClaims(intent, context);

  it('sets iss and client_id to the client id (seed: iss must contain client_id; RFC 9101 4)', () => {
    expect(claims.iss).toBe('abc');
    expect(claims.client_id).toBe('abc');
  });

  it('sets aud to the issuer exactly, trailing slash kept (seed: aud is the tenant domain with a trailing slash)', () => {
    expect(claims.aud).toBe('https://tenant.auth0.com/');
  });

  it('sets response_type to code (seed: mandatory parameter)', () => {
    expect(claims.response_type).toBe('code');
  });

  it('has numeric iat, nbf in the past and exp = iat + TTL (seed: optional claims)', () => {
    const iat = Math.floor(now / 1000);
    expect(claims.iat).toBe(iat);
    expect(claims.nbf).toBe(iat - NBF_SKEW_SECONDS);
    expect(claims.nbf).toBeLessThan(now / 1000);
    expect(claims.exp).toBe(iat + 60);
    // FAPI 2.0: exp - nbf at most 60 minutes.
    expect(claims.exp - claims.nbf).toBeLessThanOrEqual(3600);
  });

  it('carries every intent field into the request object (RFC 9101 6.3: only its parameters count)', () => {
    expect(claims).toMatchObject(intent);
    expect(Object.keys(claims).sort()).toEqual(
      [...Object.keys(intent), 'iss', 'aud', 'client_id', 'response_type', 'iat', 'nbf', 'exp', 'jti'].sort(),
    );
  });

  it('makes a unique jti of at most 64 bytes (seed: jti no longer than 64 bytes)', () => {
    const jtis = new Set(Array.from({ length: 1000 }, () => newJti()));
    expect(jtis.size).toBe(1000);
    for (const jti of jtis) expect(Buffer.byteLength(jti)).toBeLessThanOrEqual(64);
    expect(requestObjectClaims(intent, context).jti).not.toBe(requestObjectClaims(intent, context).jti);
  });
});
