import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ServerError, UpstreamError } from '../../functions/core/errors.ts';
import { MAX_RETURN_TO } from '../../functions/core/return-to.ts';
import { open, seal, sealKey } from '../../functions/core/sealed-cookie.ts';
import {
  clearLoginCookie,
  clearSessionCookies,
  CookieTooLargeError,
  DEFAULT_EXPIRES_IN,
  loginCookieName,
  loginCookieNames,
  loginCookiesToClear,
  loginSetCookie,
  MAX_EXPIRES_IN,
  MAX_SESSION_CHUNKS,
  newLogin,
  newSession,
  parseLoginPayload,
  parseSessionPayload,
  readSessionCookie,
  refreshDue,
  refreshedSession,
  SESSION_CHUNK_BYTES,
  sessionCookies,
  sessionExpired,
  sessionMaxAge,
  sessionSetCookies,
  type SessionPayload,
} from '../../functions/core/session.ts';

const NOW = 1_800_000_000;
const CLAIMS = { iss: 'https://as.example/', sub: 'user-1', aud: 'client-1', iat: NOW, exp: NOW + 300 };
const TOKENS = { access_token: 'at-1', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-1', scope: 'openid offline_access' };
const session = (): SessionPayload => newSession(TOKENS, CLAIMS, NOW, 3600);
/** A sealed-looking value: base64url and dots, as seal() writes. */
const sealedOf = (length: number) => 'abcdefghij-_.'.repeat(Math.ceil(length / 13)).slice(0, length);

const upstreamError = (f: () => unknown): UpstreamError => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(UpstreamError);
    return error as UpstreamError;
  }
  throw new Error('accepted');
};

describe('the session payload', () => {
  it('is built from a token response (RFC 6749 5.1) and the ID token claims, with an absolute exp', () => {
    expect(session()).toEqual({
      v: 1,
      iat: NOW,
      exp: NOW + 3600,
      claims: CLAIMS,
      access_token: 'at-1',
      token_type: 'Bearer',
      expires_at: NOW + 600,
      refresh_token: 'rt-1',
      scope: 'openid offline_access',
    });
  });

  it('keeps no ID token: it would end up in a logout URL (BFF.md)', () => {
    expect(newSession({ ...TOKENS, id_token: 'eyJ.x.y' }, CLAIMS, NOW, 3600)).not.toHaveProperty('id_token');
  });

  it('reads token_type case-insensitively (RFC 6749 7.1) and writes Bearer', () => {
    expect(newSession({ ...TOKENS, token_type: 'bearer' }, CLAIMS, NOW, 3600).token_type).toBe('Bearer');
  });

  it('assumes DEFAULT_EXPIRES_IN without expires_in (RFC 6749 5.1: RECOMMENDED, not required)', () => {
    const { expires_in: _, ...withoutExpiry } = TOKENS;
    expect(newSession(withoutExpiry, CLAIMS, NOW, 3600).expires_at).toBe(NOW + DEFAULT_EXPIRES_IN);
  });

  it('reads a huge expires_in as a year, so that expires_at stays an integer and the session parses', () => {
    const built = newSession({ ...TOKENS, expires_in: 1e300 }, CLAIMS, NOW, 3600);
    expect(built.expires_at).toBe(NOW + MAX_EXPIRES_IN);
    expect(parseSessionPayload(built)).toEqual(built);
  });

  it('leaves refresh_token and scope out when the answer has none', () => {
    const built = newSession({ access_token: 'at', token_type: 'Bearer', expires_in: 60 }, CLAIMS, NOW, 3600);
    expect(built).not.toHaveProperty('refresh_token');
    expect(built).not.toHaveProperty('scope');
  });

  it.each([
    ['no access_token', { ...TOKENS, access_token: undefined }],
    ['an empty access_token', { ...TOKENS, access_token: '' }],
    ['an access_token with a line break', { ...TOKENS, access_token: 'a\r\nb' }],
    ['a DPoP token_type', { ...TOKENS, token_type: 'DPoP' }],
    ['no token_type', { ...TOKENS, token_type: undefined }],
    ['a negative expires_in', { ...TOKENS, expires_in: -1 }],
    ['a string expires_in', { ...TOKENS, expires_in: '600' }],
    ['a numeric refresh_token', { ...TOKENS, refresh_token: 42 }],
    ['a scope with a control character', { ...TOKENS, scope: 'openid\u0000' }],
  ])('refuses a token response with %s, without quoting it', (_, tokens) => {
    const error = upstreamError(() => newSession(tokens as Record<string, unknown>, CLAIMS, NOW, 3600));
    expect(error.description).not.toMatch(/at-1|rt-1/);
  });

  it('is valid after opening only with its exact shape and version', () => {
    const good = session();
    expect(parseSessionPayload(good)).toEqual(good);
    const { refresh_token: _r, scope: _s, ...minimal } = good;
    expect(parseSessionPayload(minimal)).toEqual(minimal);
    for (const bad of [
      { ...good, v: 2 },
      { ...good, v: undefined },
      { ...good, exp: String(good.exp) },
      { ...good, iat: 1.5 },
      { ...good, claims: [] },
      { ...good, claims: null },
      { ...good, access_token: '' },
      { ...good, token_type: 'DPoP' },
      { ...good, expires_at: undefined },
      { ...good, refresh_token: 7 },
      { ...good, extra: 'field' },
      { ...good, state: 'a login payload field' },
      null,
      [],
      'session',
    ]) {
      expect(parseSessionPayload(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('survives sealing and opening unchanged (RFC 7516 JWE, core/sealed-cookie.ts)', async () => {
    const ring = { current: await sealKey(new Uint8Array(32).fill(9)) };
    const s = newSession(TOKENS, { ...CLAIMS, groups: ['a', 'b'], address: { country: 'DE' } }, NOW, 3600);
    expect(parseSessionPayload((await open(await seal(s, 'session', ring), 'session', ring, NOW)).payload)).toEqual(s);
  });

  it('expires at exp, absolutely (no sliding)', () => {
    const s = session();
    expect(sessionExpired(s, s.exp - 1)).toBe(false);
    expect(sessionExpired(s, s.exp)).toBe(true);
    expect(sessionMaxAge(s, NOW + 100)).toBe(3500);
    expect(sessionMaxAge(s, s.exp + 5)).toBe(0);
  });

  it('is due for a refresh when the access token expires within 30 s', () => {
    const s = session();
    expect(refreshDue(s, s.expires_at - 31)).toBe(false);
    expect(refreshDue(s, s.expires_at - 30)).toBe(true);
    expect(refreshDue(s, s.expires_at + 100)).toBe(true);
  });
});

describe('the session after a refresh (RFC 6749 6)', () => {
  it('takes the new access token, expiry, refresh token and scope; keeps iat, exp and claims', () => {
    const later = NOW + 590;
    const refreshed = refreshedSession(session(), { access_token: 'at-2', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-2', scope: 'openid' }, later);
    expect(refreshed).toEqual({ ...session(), access_token: 'at-2', expires_at: later + 600, refresh_token: 'rt-2', scope: 'openid' });
  });

  it('keeps the old refresh token when the answer has none (RFC 6749 6: the server MAY issue a new one)', () => {
    const refreshed = refreshedSession(session(), { access_token: 'at-2', token_type: 'Bearer', expires_in: 60 }, NOW + 10);
    expect(refreshed.refresh_token).toBe('rt-1');
    expect(refreshed.scope).toBe('openid offline_access'); // RFC 6749 5.1: scope omitted = unchanged
  });

  it('takes new claims when the caller verified a new ID token', () => {
    const claims = { ...CLAIMS, name: 'New Name' };
    expect(refreshedSession(session(), TOKENS, NOW + 10, claims).claims).toEqual(claims);
  });

  it('refuses a refresh answer without an access token', () => {
    upstreamError(() => refreshedSession(session(), { token_type: 'Bearer', refresh_token: 'rt-2' }, NOW));
  });
});

describe('session cookies (RFC 6265bis 4.1.3.2: the __Host- prefix; BFF.md attributes)', () => {
  const carried = (...names: string[]) => Object.fromEntries(names.map((name) => [name, 'old']));

  it('is one __Host-bff-session cookie up to 3800 bytes', () => {
    const sealed = sealedOf(SESSION_CHUNK_BYTES);
    expect(sessionCookies(sealed)).toEqual([{ name: '__Host-bff-session', value: sealed }]);
    expect(sessionSetCookies(sealed, 3600, {})).toEqual([
      `__Host-bff-session=${sealed}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=3600`,
    ]);
  });

  it('is split into .0, .1, ... chunks of 3800 bytes above that', () => {
    const sealed = sealedOf(SESSION_CHUNK_BYTES + 1);
    const cookies = sessionCookies(sealed);
    expect(cookies.map((c) => c.name)).toEqual(['__Host-bff-session.0', '__Host-bff-session.1']);
    expect(cookies.map((c) => c.value.length)).toEqual([SESSION_CHUNK_BYTES, 1]);
    expect(cookies.map((c) => c.value).join('')).toBe(sealed);
    expect(sessionSetCookies(sealed, 60, {})).toEqual(
      cookies.map((c) => `${c.name}=${c.value}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=60`),
    );
  });

  it(`refuses a session of more than ${MAX_SESSION_CHUNKS} chunks with a server error`, () => {
    expect(sessionCookies(sealedOf(MAX_SESSION_CHUNKS * SESSION_CHUNK_BYTES))).toHaveLength(MAX_SESSION_CHUNKS);
    const tooLarge = () => sessionCookies(sealedOf(MAX_SESSION_CHUNKS * SESSION_CHUNK_BYTES + 1));
    expect(tooLarge).toThrow(CookieTooLargeError);
    expect(tooLarge).toThrow(ServerError);
  });

  it('clears the stale cookies the request carried when it writes, and only those', () => {
    const small = sealedOf(100);
    const large = sealedOf(SESSION_CHUNK_BYTES + 10);
    const clear = (name: string) => `${name}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0`;
    expect(sessionSetCookies(small, 60, carried('__Host-bff-session.0', '__Host-bff-session.1', 'other', '__Host-bff-login.abc'))).toEqual([
      `__Host-bff-session=${small}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=60`,
      clear('__Host-bff-session.0'),
      clear('__Host-bff-session.1'),
    ]);
    const written = sessionSetCookies(large, 60, carried('__Host-bff-session', '__Host-bff-session.0', '__Host-bff-session.7'));
    expect(written.slice(2)).toEqual([clear('__Host-bff-session'), clear('__Host-bff-session.7')]);
  });

  it('clears every session cookie and chunk the request carried (the __Host- rules hold for deletion too)', () => {
    expect(clearSessionCookies(carried('__Host-bff-session', '__Host-bff-session.1', '__Host-bff-sessionX', 'a'))).toEqual([
      '__Host-bff-session=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0',
      '__Host-bff-session.1=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0',
    ]);
    expect(clearSessionCookies({})).toEqual([]);
  });

  it('reads back what it wrote, single or chunked, in any order of the Cookie header', () => {
    for (const sealed of [sealedOf(10), sealedOf(SESSION_CHUNK_BYTES), sealedOf(SESSION_CHUNK_BYTES * 2)]) {
      const cookies = sessionCookies(sealed).reverse();
      expect(readSessionCookie(Object.fromEntries(cookies.map((c) => [c.name, c.value])))).toBe(sealed);
    }
  });

  it('prefers the single cookie over stray chunks (a concurrent answer wrote it)', () => {
    expect(readSessionCookie({ '__Host-bff-session': 'single', '__Host-bff-session.0': 'x', '__Host-bff-session.1': 'y' })).toBe('single');
  });

  it('is absent when a chunk is missing, out of place, empty, too long, or beyond the limit', () => {
    const [first, second] = sessionCookies(sealedOf(SESSION_CHUNK_BYTES + 50)).map((c) => c.value);
    const read = (cookies: Record<string, string>) => readSessionCookie(cookies);
    expect(read({})).toBeUndefined();
    expect(read({ other: 'x' })).toBeUndefined();
    expect(read({ '__Host-bff-session.1': second! })).toBeUndefined();
    expect(read({ '__Host-bff-session.0': first! })).toBeUndefined();
    expect(read({ '__Host-bff-session.0': second!, '__Host-bff-session.1': first! })).toBeUndefined();
    expect(read({ '__Host-bff-session.0': first!, '__Host-bff-session.1': '' })).toBeUndefined();
    expect(read({ '__Host-bff-session': '' })).toBeUndefined();
    expect(read({ '__Host-bff-session': sealedOf(SESSION_CHUNK_BYTES + 1) })).toBeUndefined();
    expect(read({ '__Host-bff-session.0': first!, '__Host-bff-session.1': second!, [`__Host-bff-session.${MAX_SESSION_CHUNKS}`]: 'x' })).toBeUndefined();
    expect(read({ '__Host-bff-session.0': first!, '__Host-bff-session.01': second! })).toBeUndefined();
  });
});

describe('the login state', () => {
  it('is made of fresh random state, nonce and PKCE verifier (RFC 7636 4.1, 4.2: S256)', () => {
    const a = newLogin('/next', NOW);
    const b = newLogin(undefined, NOW);
    for (const field of ['state', 'nonce', 'code_verifier'] as const) {
      expect(a.payload[field]).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(a.payload[field]).not.toBe(b.payload[field]);
    }
    expect(a.codeChallenge).toBe(createHash('sha256').update(a.payload.code_verifier).digest('base64url'));
    expect(a.payload).toMatchObject({ v: 1, return_to: '/next', iat: NOW, exp: NOW + 600 });
    expect(b.payload).not.toHaveProperty('return_to');
  });

  it('is valid after opening only with its exact shape and version', () => {
    const { payload } = newLogin('/x', NOW);
    expect(parseLoginPayload(payload)).toEqual(payload);
    for (const bad of [
      { ...payload, v: 0 },
      { ...payload, state: 'short' },
      { ...payload, nonce: undefined },
      { ...payload, code_verifier: 'x'.repeat(43) + '!' },
      { ...payload, return_to: 5 },
      { ...payload, access_token: 'a session payload field' },
      session(),
    ]) {
      expect(parseLoginPayload(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('lives in __Host-bff-login.<first 16 characters of state>, SameSite=Lax, 600 s', () => {
    const { payload } = newLogin(undefined, NOW);
    const name = `__Host-bff-login.${payload.state.slice(0, 16)}`;
    expect(loginCookieName(payload.state)).toBe(name);
    expect(loginSetCookie(payload.state, 'sealed.value')).toBe(`${name}=sealed.value; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=600`);
    expect(clearLoginCookie(name)).toBe(`${name}=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0`);
  });

  it('finds no cookie for a state of another shape (the callback query is the caller\'s input)', () => {
    for (const state of ['', 'short', 'x'.repeat(42), 'x'.repeat(44), `${'x'.repeat(42)}=`, `${'x'.repeat(16)};${'x'.repeat(26)}`]) {
      expect(loginCookieName(state)).toBeUndefined();
    }
  });

  it('fits one cookie when sealed, even with the longest return_to', async () => {
    const ring = { current: await sealKey(new Uint8Array(32).fill(7)) };
    const { payload } = newLogin(`/${'r'.repeat(MAX_RETURN_TO - 1)}`, NOW);
    const sealed = await seal(payload, 'login', ring);
    expect(loginSetCookie(payload.state, sealed).length).toBeLessThan(4096);
    expect(parseLoginPayload((await open(sealed, 'login', ring, NOW)).payload)).toEqual(payload);
  });

  it('refuses to write a login cookie larger than one chunk', () => {
    const { payload } = newLogin(undefined, NOW);
    expect(() => loginSetCookie(payload.state, sealedOf(SESSION_CHUNK_BYTES + 1))).toThrow(CookieTooLargeError);
  });

  it('lists the login cookies a request carried, by their exact name shape', () => {
    const cookies = {
      '__Host-bff-login.AAAAAAAAAAAAAAAA': 'a',
      '__Host-bff-login.BBBBBBBBBBBBBBB_': 'b',
      '__Host-bff-login.short': 'c',
      '__Host-bff-session': 'd',
      '__host-bff-login.CCCCCCCCCCCCCCCC': 'e',
    };
    expect(loginCookieNames(cookies)).toEqual(['__Host-bff-login.AAAAAAAAAAAAAAAA', '__Host-bff-login.BBBBBBBBBBBBBBB_']);
  });
});

describe('at most 4 login cookies: the oldest beyond 3 are cleared, unopenable ones first', () => {
  const c = (name: string, iat?: number) => ({ name, ...(iat === undefined ? {} : { iat }) });

  it('clears nothing up to 3', () => {
    expect(loginCookiesToClear([])).toEqual([]);
    expect(loginCookiesToClear([c('a', 3), c('b'), c('c', 1)])).toEqual([]);
  });

  it('clears the oldest by iat beyond 3', () => {
    expect(loginCookiesToClear([c('a', 30), c('b', 10), c('c', 40), c('d', 20)])).toEqual(['b']);
    expect(loginCookiesToClear([c('a', 5), c('b', 4), c('c', 3), c('d', 2), c('e', 1)])).toEqual(['e', 'd']);
  });

  it('clears unopenable ones before any openable one', () => {
    expect(loginCookiesToClear([c('a', 1), c('x'), c('b', 2), c('c', 3)])).toEqual(['x']);
    expect(loginCookiesToClear([c('x'), c('a', 1), c('y'), c('b', 2), c('z')])).toEqual(['x', 'y']);
  });
});

describe('a session bound to a DPoP key (RFC 9449)', () => {
  const key = { x: 'x'.repeat(43), y: 'y'.repeat(43), d: 'd'.repeat(43) };
  const DPOP = { ...TOKENS, token_type: 'DPoP' };

  it('keeps the login\'s key with a DPoP token (5: token_type DPoP, case-insensitive), through a refresh, and opens again', () => {
    const bound = newSession({ ...DPOP, token_type: 'dpop' }, CLAIMS, NOW, 3600, key);
    expect(bound).toMatchObject({ token_type: 'DPoP', dpop_key: key });
    const refreshed = refreshedSession(bound, { access_token: 'at-2', token_type: 'DPoP', expires_in: 600 }, NOW + 10);
    expect(refreshed).toMatchObject({ access_token: 'at-2', token_type: 'DPoP', dpop_key: key });
    expect(parseSessionPayload(refreshed)).toEqual(refreshed);
  });

  it('refuses a Bearer token where DPoP was asked for, at the login and at a refresh, without quoting it', () => {
    expect(upstreamError(() => newSession(TOKENS, CLAIMS, NOW, 3600, key)).description).toMatch(/token_type does not match the request/);
    const bound = newSession(DPOP, CLAIMS, NOW, 3600, key);
    const error = upstreamError(() => refreshedSession(bound, { access_token: 'at-2', token_type: 'Bearer' }, NOW + 10));
    expect(error.description).not.toMatch(/at-2/);
  });

  it('does not open with a key and a Bearer token, a DPoP token and no key, or a key of another shape', () => {
    const bound = newSession(DPOP, CLAIMS, NOW, 3600, key);
    for (const bad of [
      { ...bound, token_type: 'Bearer' },
      { ...session(), token_type: 'DPoP' },
      { ...bound, dpop_key: { ...key, d: 'short' } },
      { ...bound, dpop_key: { ...key, kty: 'EC' } },
    ]) expect(parseSessionPayload(bad)).toBeUndefined();
  });

  it('the login state carries the key (RFC 9449 10: the code is bound to its thumbprint)', () => {
    const { payload } = newLogin(undefined, NOW);
    expect(parseLoginPayload({ ...payload, dpop_key: key })).toEqual({ ...payload, dpop_key: key });
    expect(parseLoginPayload({ ...payload, dpop_key: { x: key.x } })).toBeUndefined();
  });
});
