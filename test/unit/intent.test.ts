import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../functions/core/errors.ts';
import { parseIntent, type IntentPolicy } from '../../functions/core/intent.ts';
import { CODE_CHALLENGE } from '../helpers/events.ts';

const policy: IntentPolicy = {
  allowedRedirectUris: new Set(['https://app.example.com/callback']),
  authorizationDetailsTypes: new Set(['payment_initiation']),
};
const valid = {
  redirect_uri: 'https://app.example.com/callback',
  code_challenge: CODE_CHALLENGE,
  code_challenge_method: 'S256',
  state: 'af0ifjsldkj',
};

function refusal(input: unknown): string {
  try {
    parseIntent(input, policy);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return (error as InvalidRequestError).description;
  }
  throw new Error('the intent was accepted');
}

describe('parseIntent', () => {
  it('accepts the required fields and every optional one', () => {
    const full = {
      ...valid,
      response_type: 'code',
      scope: 'openid profile',
      nonce: 'n-0S6_WzA2Mj',
      audience: 'https://api.example.com',
      prompt: 'login',
      login_hint: 'jöhn@example.com',
      ui_locales: 'fr-CA fr en',
      acr_values: 'urn:mace:incommon:iap:silver',
      organization: 'org_123',
      invitation: 'inv_123',
      screen_hint: 'signup',
      connection: 'google-oauth2',
      response_mode: 'query',
      dpop_jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
      max_age: 0,
      authorization_details: [{ type: 'payment_initiation', amount: { currency: 'EUR', value: '1.00' } }],
    };
    expect(parseIntent(full, policy)).toEqual(full);
  });

  it.each([
    ['redirect_uri', 'redirect_uri is required'],
    ['code_challenge', 'code_challenge is required'],
    ['code_challenge_method', 'code_challenge_method is required'],
    ['state', 'state is required'],
  ])('requires %s', (field, message) => {
    const { [field as keyof typeof valid]: _omitted, ...rest } = valid;
    expect(refusal(rest)).toBe(message);
  });

  it.each(['iss', 'aud', 'client_id', 'exp', 'iat', 'nbf', 'jti', 'request', 'request_uri', 'client_secret', 'client_assertion'])(
    'refuses the proxy-owned field %s (RFC 9101 6.3: the proxy owns these claims)',
    (field) => {
      expect(refusal({ ...valid, [field]: 'x' })).toBe(`${field} is set by the proxy and must not be sent`);
    },
  );

  it('refuses an unknown field, naming it', () => {
    expect(refusal({ ...valid, claims: '{}' })).toBe('claims is not an accepted field');
  });

  it('does not echo an unknown field name that is long or odd', () => {
    expect(refusal({ ...valid, 'a\r\nSet-Cookie: x': 1 })).toBe('a field is not an accepted field');
  });

  it('refuses __proto__ and constructor keys without polluting prototypes', () => {
    expect(refusal(JSON.parse(`{"__proto__": {"polluted": true}, "redirect_uri": "x"}`))).toBe(
      '__proto__ is not an accepted field',
    );
    expect(refusal({ ...valid, constructor: { prototype: { polluted: true } } })).toBe('constructor is not an accepted field');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a redirect_uri that is not an exact match (RFC 9700 2.1: exact string comparison)', () => {
    for (const near of [
      'https://app.example.com/callback/',
      'https://APP.example.com/callback',
      'https://app.example.com:443/callback',
      'http://app.example.com/callback',
      'https://app.example.com/callback?x=1',
    ]) {
      expect(refusal({ ...valid, redirect_uri: near })).toBe('redirect_uri is not an allowed redirect URI');
    }
  });

  it('accepts only S256 PKCE (RFC 9700 2.1.1)', () => {
    expect(refusal({ ...valid, code_challenge_method: 'plain' })).toBe('code_challenge_method must be S256');
  });

  it('checks the code_challenge shape (RFC 7636 4.2)', () => {
    expect(refusal({ ...valid, code_challenge: 'short' })).toBe('code_challenge must be 43 to 128 characters');
    expect(refusal({ ...valid, code_challenge: `${CODE_CHALLENGE.slice(0, 42)}+` })).toBe('code_challenge must be base64url');
    expect(refusal({ ...valid, code_challenge: 'a'.repeat(129) })).toBe('code_challenge must be 43 to 128 characters');
  });

  it('accepts response_type only as code', () => {
    expect(refusal({ ...valid, response_type: 'token' })).toMatch(/^response_type must be code/);
  });

  it('refuses values of the wrong type, naming the field', () => {
    expect(refusal({ ...valid, state: 42 })).toBe('state must be a string');
    expect(refusal({ ...valid, scope: ['openid'] })).toBe('scope must be a string');
    expect(refusal({ ...valid, max_age: '10' })).toBe('max_age must be a number');
    expect(refusal({ ...valid, max_age: 1.5 })).toBe('max_age must be an integer');
    expect(refusal({ ...valid, max_age: -1 })).toBe('max_age must not be negative');
    expect(refusal({ ...valid, nonce: '' })).toBe('nonce must not be empty');
    expect(refusal({ ...valid, state: 'a\nb' })).toBe('state must not contain control characters');
  });

  it('refuses bodies that are not a JSON object', () => {
    for (const body of [null, [], 'text', 42, true]) expect(refusal(body)).toBe('the body must be a JSON object');
  });

  it('accepts authorization_details only with allowed types (RFC 9396 2)', () => {
    expect(refusal({ ...valid, authorization_details: [{ type: 'account_information' }] })).toBe(
      'authorization_details has a type that is not allowed',
    );
    expect(refusal({ ...valid, authorization_details: { type: 'payment_initiation' } })).toBe(
      'authorization_details must be an array of objects',
    );
    expect(refusal({ ...valid, authorization_details: [{ type: 'payment_initiation', x: 'y'.repeat(5000) }] })).toBe(
      'authorization_details must be at most 4096 bytes',
    );
    const none = { ...policy, authorizationDetailsTypes: new Set<string>() };
    expect(() => parseIntent({ ...valid, authorization_details: [{ type: 'payment_initiation' }] }, none)).toThrow(
      'authorization_details has a type that is not allowed',
    );
  });
});
