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

function refusal(input: unknown, with_: IntentPolicy = policy): string {
  try {
    parseIntent(input, with_);
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
    expect(refusal({ ...valid, state: 'a\nb' })).toBe('state must not contain control, bidirectional or line separator characters');
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
  // Issue 10, part 1: what the authorization server would refuse is refused here, before KMS signs it.
  describe('prompt (OpenID Connect Core 3.1.2.1; Initiating User Registration 4: create)', () => {
    it.each(['login', 'consent', 'select_account', 'create', 'login consent', 'consent login select_account create'])(
      'accepts %j and signs it as sent',
      (prompt) => {
        expect(parseIntent({ ...valid, prompt }, policy).prompt).toBe(prompt);
      },
    );

    it.each(['bogus', 'Login', 'login login', 'none login', 'login none', ' login', 'login ', 'login  consent', 'login,consent', 'login\u00a0consent'])(
      'refuses %j, naming prompt',
      (prompt) => {
        expect(refusal({ ...valid, prompt })).toMatch(/^prompt must be /);
      },
    );

    it('refuses prompt=none unless ALLOW_PROMPT_NONE: a caller could start a silent login for a user\'s browser', () => {
      expect(refusal({ ...valid, prompt: 'none' })).toMatch(/^prompt none is not allowed/);
      expect(parseIntent({ ...valid, prompt: 'none' }, { ...policy, allowPromptNone: true }).prompt).toBe('none');
      expect(refusal({ ...valid, prompt: 'none login' }, { ...policy, allowPromptNone: true })).toMatch(/^prompt must be /);
    });
  });

  it.each(['query', 'form_post', 'jwt', 'query.jwt', 'form_post.jwt'])('accepts response_mode %s (a back-channel code flow)', (mode) => {
    expect(parseIntent({ ...valid, response_mode: mode }, policy).response_mode).toBe(mode);
  });

  it.each(['fragment', 'web_message', 'fragment.jwt', 'bogus', 'QUERY', 'query '])('refuses response_mode %j', (mode) => {
    expect(refusal({ ...valid, response_mode: mode })).toBe('response_mode must be query, form_post, jwt, query.jwt or form_post.jwt');
  });

  it('bounds max_age at 2^31 - 1 and needs openid in scope (OpenID Connect Core 3.1.2.1)', () => {
    expect(parseIntent({ ...valid, scope: 'profile openid', max_age: 2 ** 31 - 1 }, policy).max_age).toBe(2 ** 31 - 1);
    expect(refusal({ ...valid, scope: 'openid', max_age: 2 ** 31 })).toBe('max_age must be at most 2147483647');
    expect(refusal({ ...valid, max_age: 60 })).toBe('max_age needs openid in scope');
    expect(refusal({ ...valid, scope: 'profile', max_age: 60 })).toBe('max_age needs openid in scope');
    expect(refusal({ ...valid, scope: 'openidx', max_age: 60 })).toBe('max_age needs openid in scope');
  });

  it.each(['ui_locales', 'acr_values'])('takes %s as space-separated tokens', (field) => {
    expect(parseIntent({ ...valid, [field]: 'fr-CA fr en' }, policy)).toMatchObject({ [field]: 'fr-CA fr en' });
    expect(parseIntent({ ...valid, [field]: 'urn:mace:incommon:iap:silver' }, policy)).toMatchObject({ [field]: 'urn:mace:incommon:iap:silver' });
    for (const bad of [' fr', 'fr ', 'fr  en', 'fr\u00a0en', 'fr\u3000en', ' ']) {
      expect(refusal({ ...valid, [field]: bad })).toBe(`${field} must be space-separated values`);
    }
  });

  // Issue 10, part 4: what the authorization server's screens would show.
  describe('strings the login page would show', () => {
    const REFUSED = [
      ['a C0 control', 'a\u0000b'], ['a tab', 'a\tb'], ['DEL', 'a\u007fb'], ['C1 U+0080', '\u0080'], ['C1 NEL U+0085', 'a\u0085b'], ['C1 U+009F', '\u009f'],
      ['ALM U+061C', '\u061c'], ['LRM U+200E', '\u200e'], ['RLM U+200F', '\u200f'], ['LRE U+202A', '\u202a'], ['RLO U+202E', 'admin\u202eexample.com'],
      ['LRI U+2066', '\u2066'], ['PDI U+2069', 'x\u2069'], ['LINE SEPARATOR', 'a\u2028b'], ['PARAGRAPH SEPARATOR', 'a\u2029b'],
      ['a lone high surrogate', '\ud800'], ['a lone low surrogate', 'a\udfffb'], ['two high surrogates', '\ud83d\ud83d'], ['a reversed pair', '\ude00\ud83d'],
    ] as const;
    const controls = 'must not contain control, bidirectional or line separator characters';

    it.each(REFUSED)('refuses %s in any text field, naming it', (_name, value) => {
      for (const field of ['state', 'login_hint', 'nonce', 'organization']) {
        expect(refusal({ ...valid, [field]: value })).toMatch(new RegExp(`^${field} (${controls}|must be well-formed Unicode)$`));
      }
    });

    it.each(REFUSED)('refuses %s anywhere inside authorization_details, keys included', (_name, value) => {
      const entries = [
        { type: 'payment_initiation', creditor: { name: value } },
        { type: 'payment_initiation', locations: ['https://a.example', value] },
        { type: 'payment_initiation', deep: [[{ x: [value] }]] },
        { type: 'payment_initiation', [`k${value}`]: 1 },
      ];
      for (const entry of entries) {
        expect(refusal({ ...valid, authorization_details: [entry] })).toMatch(new RegExp(`^authorization_details (${controls}|must be well-formed Unicode)$`));
      }
    });

    it('tells control characters from malformed strings', () => {
      expect(refusal({ ...valid, login_hint: 'a\u202eb' })).toBe(`login_hint ${controls}`);
      expect(refusal({ ...valid, login_hint: 'a\ud800b' })).toBe('login_hint must be well-formed Unicode');
    });

    it.each([
      ['a family emoji (ZWJ U+200D)', '👩‍👩‍👧'],
      ['Persian with ZWNJ U+200C', 'می‌خواهم'],
      ['a zero-width space U+200B', 'a\u200bb'],
      ['a soft hyphen U+00AD', 'co\u00adop'],
      ['a word joiner U+2060', 'a\u2060b'],
      ['a BOM U+FEFF', '\ufeffx'],
      ['an astral character (a surrogate pair)', '𝒜'],
      ['Arabic and Hebrew text', 'مرحبا שלום'],
      ['a combining accent', 'e\u0301'],
      ['NBSP', 'a\u00a0b'],
    ])('accepts %s and signs it as sent', (_name, value) => {
      const intent = { ...valid, login_hint: value, authorization_details: [{ type: 'payment_initiation', note: value, [value]: [value] }] };
      expect(parseIntent(intent, policy)).toEqual(intent);
    });
  });
});
