import { createHash, randomBytes } from 'node:crypto';
import * as v from 'valibot';
import type { DpopKey } from './dpop-proof.ts';
import { ServerError, UpstreamError } from './errors.ts';

/**
 * The bff mode's two sealed payloads (core/sealed-cookie.ts seals them) and the cookies that carry
 * them: the session (`__Host-bff-session`, chunked when large) and one login state per login in
 * progress (`__Host-bff-login.<id>`). Everything here is pure: times are epoch seconds, passed in.
 *
 * Cookies follow RFC 6265bis: the `__Host-` prefix (4.1.3.2) makes the browser refuse them unless
 * Secure, Path=/ and without Domain, so no subdomain can set or shadow them; HttpOnly keeps them from
 * script. The session is SameSite=Strict; the login state is Lax because the callback is a
 * navigation that starts at the authorization server's site, which Strict cookies do not follow.
 */

// ---------------------------------------------------------------------------------------------
// The session payload

export interface SessionPayload {
  readonly v: 1;
  readonly iat: number;
  /** Absolute: iat + SESSION_MAX_AGE; a refresh does not extend it. */
  readonly exp: number;
  /** The verified ID token's claims. The ID token itself is not kept: it would end up in a URL. */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly access_token: string;
  /** DPoP (RFC 9449) exactly when the session holds a DPoP key. */
  readonly token_type: 'Bearer' | 'DPoP';
  /** When the access token expires, epoch seconds (from expires_in). */
  readonly expires_at: number;
  readonly refresh_token?: string;
  readonly scope?: string;
  /** The login's DPoP key (DPOP=true): every grant and API call is proved with it. */
  readonly dpop_key?: DpopKey;
}

/** Without expires_in (RFC 6749 5.1 only RECOMMENDS it), an access token is refreshed after 5 minutes. */
export const DEFAULT_EXPIRES_IN = 300;
/** A longer expires_in is read as this (a year): the session ends long before, and expires_at stays an integer. */
export const MAX_EXPIRES_IN = 365 * 24 * 3600;
/** A token that expires within this many seconds is refreshed before it is forwarded. */
export const REFRESH_WITHIN_SECONDS = 30;

const EPOCH = v.pipe(v.number(), v.safeInteger());
/** RFC 6749 A.12 and A.17: access and refresh tokens are 1*VSCHAR, which also keeps them header-safe. */
const VSCHAR = /^[\x20-\x7e]+$/;
const TOKEN = v.pipe(v.string(), v.regex(VSCHAR));
const RANDOM = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/));
/** A P-256 JWK coordinate or private scalar: 32 bytes, base64url. */
const COORDINATE = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/));
const DPOP_KEY = v.strictObject({ x: COORDINATE, y: COORDINATE, d: COORDINATE });
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const SESSION = v.strictObject({
  v: v.literal(1),
  iat: EPOCH,
  exp: EPOCH,
  claims: v.custom<Record<string, unknown>>(isPlainObject),
  access_token: TOKEN,
  token_type: v.picklist(['Bearer', 'DPoP']),
  expires_at: EPOCH,
  refresh_token: v.optional(TOKEN),
  scope: v.optional(TOKEN),
  dpop_key: v.optional(DPOP_KEY),
});

/** An opened payload as a session, or undefined when it has another shape or version (then: no session). */
export function parseSessionPayload(payload: unknown): SessionPayload | undefined {
  return v.is(SESSION, payload) && (payload.token_type === 'DPoP') === (payload.dpop_key !== undefined) ? payload : undefined;
}

/** The session a code exchange starts: the token response (RFC 6749 5.1) and the verified ID token's claims. */
export function newSession(
  tokens: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
  now: number,
  maxAge: number,
  dpopKey?: DpopKey,
): SessionPayload {
  if (!isPlainObject(claims)) throw new TypeError('claims must be an object');
  if (!Number.isSafeInteger(maxAge) || maxAge <= 0) throw new TypeError('maxAge must be a positive integer');
  const session = { v: 1 as const, iat: now, exp: now + maxAge, claims, ...tokenFields(tokens, now), ...(dpopKey === undefined ? {} : { dpop_key: dpopKey }) };
  return boundAsAsked(session);
}

/** RFC 9449 5: a grant proved with the session's key must answer a DPoP token, and only then (a Bearer one could be replayed). */
function boundAsAsked(session: SessionPayload): SessionPayload {
  if ((session.token_type === 'DPoP') !== (session.dpop_key !== undefined)) {
    throw new UpstreamError('the token_type does not match the request: DPoP exactly when it carried a proof', 'authorization_server');
  }
  return session;
}

/**
 * The session after a refresh: new access token and expiry; iat and exp stay (the session is
 * absolute). RFC 6749 6: the server MAY issue a new refresh token, so an answer without one keeps the
 * old; RFC 6749 5.1: a scope left out is unchanged. `claims` when the caller verified a new ID token.
 */
export function refreshedSession(
  session: SessionPayload,
  tokens: Readonly<Record<string, unknown>>,
  now: number,
  claims?: Readonly<Record<string, unknown>>,
): SessionPayload {
  const fields = tokenFields(tokens, now);
  const refreshToken = fields.refresh_token ?? session.refresh_token;
  const scope = fields.scope ?? session.scope;
  return boundAsAsked({
    ...session,
    ...fields,
    claims: claims ?? session.claims,
    ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    ...(scope === undefined ? {} : { scope }),
  });
}

const TOKEN_TYPES: ReadonlyMap<string, 'Bearer' | 'DPoP'> = new Map([['bearer', 'Bearer'], ['dpop', 'DPoP']]);

type TokenFields = Pick<SessionPayload, 'access_token' | 'token_type' | 'expires_at' | 'refresh_token' | 'scope'>;

/** The token endpoint's answer, checked: a bad one is the authorization server's fault (502), never quoted. */
function tokenFields(tokens: Readonly<Record<string, unknown>>, now: number): TokenFields {
  const { access_token, token_type, expires_in, refresh_token, scope } = tokens;
  if (typeof access_token !== 'string' || !VSCHAR.test(access_token)) {
    throw new UpstreamError('the token endpoint answered without a usable access_token', 'authorization_server');
  }
  // RFC 6749 7.1: the type is case-insensitive; RFC 6750 Bearer or RFC 9449 DPoP.
  const type = typeof token_type === 'string' ? TOKEN_TYPES.get(token_type.toLowerCase()) : undefined;
  if (type === undefined) {
    throw new UpstreamError('the token endpoint answered with a token_type other than Bearer or DPoP', 'authorization_server');
  }
  if (expires_in !== undefined && (typeof expires_in !== 'number' || !Number.isFinite(expires_in) || expires_in < 0)) {
    throw new UpstreamError('the token endpoint answered with an invalid expires_in', 'authorization_server');
  }
  if (refresh_token !== undefined && (typeof refresh_token !== 'string' || !VSCHAR.test(refresh_token))) {
    throw new UpstreamError('the token endpoint answered with an invalid refresh_token', 'authorization_server');
  }
  if (scope !== undefined && (typeof scope !== 'string' || (scope !== '' && !VSCHAR.test(scope)))) {
    throw new UpstreamError('the token endpoint answered with an invalid scope', 'authorization_server');
  }
  return {
    access_token,
    token_type: type,
    expires_at: now + Math.min(MAX_EXPIRES_IN, Math.floor(expires_in ?? DEFAULT_EXPIRES_IN)),
    ...(refresh_token === undefined ? {} : { refresh_token }),
    ...(scope === undefined || scope === '' ? {} : { scope }),
  };
}

export const sessionExpired = (session: SessionPayload, now: number): boolean => session.exp <= now;

/** The access token expires within REFRESH_WITHIN_SECONDS (or has expired). */
export const refreshDue = (session: SessionPayload, now: number): boolean =>
  session.expires_at - now <= REFRESH_WITHIN_SECONDS;

/** The session cookie's Max-Age: the session's remaining seconds. */
export const sessionMaxAge = (session: SessionPayload, now: number): number => Math.max(0, session.exp - now);

// ---------------------------------------------------------------------------------------------
// The login state

export interface LoginPayload {
  readonly v: 1;
  /** 43 random base64url characters; its first 16 name the cookie. */
  readonly state: string;
  readonly nonce: string;
  readonly code_verifier: string;
  /** A path validated by core/return-to.ts; absent: APP_URL. */
  readonly return_to?: string;
  /** DPOP=true: the key whose thumbprint the request object carries as dpop_jkt (RFC 9449 10). */
  readonly dpop_key?: DpopKey;
  readonly iat: number;
  readonly exp: number;
}

export const LOGIN_TTL_SECONDS = 600;

const LOGIN = v.strictObject({
  v: v.literal(1),
  state: RANDOM,
  nonce: RANDOM,
  code_verifier: RANDOM,
  return_to: v.optional(v.string()),
  dpop_key: v.optional(DPOP_KEY),
  iat: EPOCH,
  exp: EPOCH,
});

export function parseLoginPayload(payload: unknown): LoginPayload | undefined {
  return v.is(LOGIN, payload) ? payload : undefined;
}

const random43 = (): string => randomBytes(32).toString('base64url');

/** A new login: 256-bit state, nonce and PKCE verifier (RFC 7636 4.1), and the S256 challenge (4.2). */
export function newLogin(returnTo: string | undefined, now: number): { payload: LoginPayload; codeChallenge: string } {
  const payload: LoginPayload = {
    v: 1,
    state: random43(),
    nonce: random43(),
    code_verifier: random43(),
    ...(returnTo === undefined ? {} : { return_to: returnTo }),
    iat: now,
    exp: now + LOGIN_TTL_SECONDS,
  };
  return { payload, codeChallenge: createHash('sha256').update(payload.code_verifier).digest('base64url') };
}

// ---------------------------------------------------------------------------------------------
// Cookies

/** A request's cookies by name, as hono's getCookie(c) returns them. */
export type RequestCookies = Readonly<Record<string, string>>;

export interface CookieValue {
  readonly name: string;
  readonly value: string;
}

/** A cookie the browser would not keep (RFC 6265bis 5.6: about 4096 bytes of name and value): a logged 500. */
export class CookieTooLargeError extends ServerError {
  constructor(what: string, bytes: number) {
    super(`the ${what} is too large for cookies (${bytes} bytes); tokens this large need a session store`);
  }
}

export const SESSION_COOKIE = '__Host-bff-session';
/** Below 4096 bytes of name, value and attributes with room to spare. */
export const SESSION_CHUNK_BYTES = 3800;
/**
 * Not BFF.md's 8: API Gateway HTTP APIs refuse a request whose request line and header values add
 * up to more than 10240 bytes (a hard quota), so a third chunk would make every later request fail
 * before the function could even clear the cookies.
 */
export const MAX_SESSION_CHUNKS = 2;
export const LOGIN_COOKIE_PREFIX = '__Host-bff-login.';
/** /par keeps at most MAX_LOGIN_COOKIES - 1 before it adds one. */
export const MAX_LOGIN_COOKIES = 4;

/** RFC 6265bis 5.5: user agents cap Max-Age at 400 days. */
const MAX_AGE_CAP = 400 * 24 * 3600;
const SESSION_NAME = /^__Host-bff-session(?:\.\d{1,3})?$/;
const CHUNK_NAME = /^__Host-bff-session\.(0|[1-9]\d{0,2})$/;
const LOGIN_NAME = /^__Host-bff-login\.[A-Za-z0-9_-]{16}$/;
const STATE = /^[A-Za-z0-9_-]{43}$/;
/** What seal() writes: base64url and dots, all RFC 6265 cookie-octets. */
const SEALED = /^[A-Za-z0-9_.-]+$/;

function setCookie(name: string, value: string, sameSite: 'Strict' | 'Lax', maxAge: number): string {
  const seconds = Math.min(MAX_AGE_CAP, Math.max(0, Math.floor(maxAge)));
  return `${name}=${value}; HttpOnly; Secure; SameSite=${sameSite}; Path=/; Max-Age=${seconds}`;
}

function checkSealed(sealed: string): void {
  if (!SEALED.test(sealed)) throw new TypeError('a sealed value is base64url and dots');
}

/** The cookies that carry a sealed session: one up to SESSION_CHUNK_BYTES, else `.0`, `.1`, ... */
export function sessionCookies(sealed: string): CookieValue[] {
  checkSealed(sealed);
  if (sealed.length <= SESSION_CHUNK_BYTES) return [{ name: SESSION_COOKIE, value: sealed }];
  const count = Math.ceil(sealed.length / SESSION_CHUNK_BYTES);
  if (count > MAX_SESSION_CHUNKS) throw new CookieTooLargeError('session', sealed.length);
  return Array.from({ length: count }, (_, i) => ({
    name: `${SESSION_COOKIE}.${i}`,
    value: sealed.slice(i * SESSION_CHUNK_BYTES, (i + 1) * SESSION_CHUNK_BYTES),
  }));
}

/** Set-Cookie values that write the session and clear the session cookies `carried` that it does not overwrite. */
export function sessionSetCookies(sealed: string, maxAge: number, carried: RequestCookies): string[] {
  const cookies = sessionCookies(sealed);
  const written = new Set(cookies.map((cookie) => cookie.name));
  return [
    ...cookies.map((cookie) => setCookie(cookie.name, cookie.value, 'Strict', maxAge)),
    ...sessionCookieNames(carried)
      .filter((name) => !written.has(name))
      .map((name) => setCookie(name, '', 'Strict', 0)),
  ];
}

/** Set-Cookie values that clear every session cookie and chunk the request carried. */
export function clearSessionCookies(carried: RequestCookies): string[] {
  return sessionCookieNames(carried).map((name) => setCookie(name, '', 'Strict', 0));
}

const sessionCookieNames = (carried: RequestCookies): string[] => Object.keys(carried).filter((name) => SESSION_NAME.test(name));

/**
 * The sealed session the request carried, or undefined. The single cookie wins over chunks (two
 * concurrent answers may leave both; the seal decides whether either is good). Chunks must be
 * exactly `.0` to `.n-1`, 2 <= n <= MAX_SESSION_CHUNKS, all full but the last: anything else is absent.
 */
export function readSessionCookie(cookies: RequestCookies): string | undefined {
  const single = cookies[SESSION_COOKIE];
  if (single !== undefined) return single !== '' && single.length <= SESSION_CHUNK_BYTES ? single : undefined;
  const chunks: string[] = [];
  for (const [name, value] of Object.entries(cookies)) {
    const index = CHUNK_NAME.exec(name)?.[1];
    if (index === undefined) continue;
    if (Number(index) >= MAX_SESSION_CHUNKS) return undefined;
    chunks[Number(index)] = value;
  }
  if (chunks.length < 2) return undefined;
  for (let i = 0; i < chunks.length; i += 1) {
    const chunk = chunks[i];
    const last = i === chunks.length - 1;
    if (chunk === undefined || chunk === '' || chunk.length > SESSION_CHUNK_BYTES) return undefined;
    if (!last && chunk.length !== SESSION_CHUNK_BYTES) return undefined;
  }
  return chunks.join('');
}

/** The login cookie of a state, or undefined for a state the proxy cannot have made (the callback's query is input). */
export function loginCookieName(state: string): string | undefined {
  return typeof state === 'string' && STATE.test(state) ? `${LOGIN_COOKIE_PREFIX}${state.slice(0, 16)}` : undefined;
}

export function loginSetCookie(state: string, sealed: string): string {
  const name = loginCookieName(state);
  if (name === undefined) throw new TypeError('a login state is 43 base64url characters');
  checkSealed(sealed);
  if (sealed.length > SESSION_CHUNK_BYTES) throw new CookieTooLargeError('login state', sealed.length);
  return setCookie(name, sealed, 'Lax', LOGIN_TTL_SECONDS);
}

export const clearLoginCookie = (name: string): string => setCookie(name, '', 'Lax', 0);

/** The login cookies a request carried (names of our exact shape only). */
export function loginCookieNames(cookies: RequestCookies): string[] {
  return Object.keys(cookies).filter((name) => LOGIN_NAME.test(name));
}

/**
 * Which login cookies /par clears before it adds one, so that at most MAX_LOGIN_COOKIES remain
 * (many tabs, abandoned logins: BFF notes, 431 from piled-up cookies). `iat` is the opened
 * payload's; without it the cookie did not open and goes first. Oldest first otherwise.
 */
export function loginCookiesToClear(opened: readonly { readonly name: string; readonly iat?: number }[]): string[] {
  const excess = opened.length - (MAX_LOGIN_COOKIES - 1);
  if (excess <= 0) return [];
  const age = (cookie: { readonly iat?: number }) => cookie.iat ?? Number.NEGATIVE_INFINITY;
  return [...opened]
    .sort((a, b) => (age(a) === age(b) ? 0 : age(a) < age(b) ? -1 : 1))
    .slice(0, excess)
    .map((cookie) => cookie.name);
}
