import type { Context } from 'hono';
import type { IdTokenClaims } from '../adapters/id-token.ts';
import { LogoutTokenError } from '../adapters/id-token.ts';
import type { ProxyEnv } from '../app/proxy-app.ts';
import type { Deadline } from '../core/deadline.ts';
import { InvalidRequestError, PayloadTooLargeError } from '../core/errors.ts';
import type { SessionSelector, SessionStore } from '../core/session-store.ts';
import { CLOCK_TOLERANCE_S } from '../adapters/id-token.ts';

/**
 * OpenID Connect Back-Channel Logout 1.0: the authorization server POSTs a logout token (a signed
 * JWT, 2.4) as the form field `logout_token`; the proxy validates it (2.6), deletes the sessions it
 * names and answers 200 (2.8); a token that does not validate is a 400 with an OAuth error body. It
 * needs the server-side store: with SESSION_STORE=cookie there is no session to find, and the route
 * answers 400 so that the server's operator sees the misconfiguration.
 */
export interface LogoutTokenVerifier {
  verifyLogoutToken(token: string, deadline: Deadline): Promise<IdTokenClaims>;
}

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token issued longer ago than this is refused: its jti need not be remembered longer. */
export const LOGOUT_TOKEN_MAX_AGE_S = 600;
const MAX_BODY_BYTES = 16 * 1024;

export async function backchannelLogout(
  c: Context<ProxyEnv>,
  deps: { readonly sessionStore?: SessionStore; readonly idTokens: Partial<LogoutTokenVerifier>; readonly clock: () => number },
  deadline: Deadline,
): Promise<Response> {
  const { sessionStore: store, idTokens, clock } = deps;
  if (store === undefined || idTokens.verifyLogoutToken === undefined) {
    throw new InvalidRequestError('back-channel logout needs the server-side session store (SESSION_STORE=dynamodb)');
  }
  const token = await logoutTokenOf(c);
  const claims = await idTokens.verifyLogoutToken(token, deadline);
  const selector = selectorOf(claims, Math.floor(clock() / 1000));
  // 2.6 step 6 (jti not seen before): recorded until the token could no longer pass the iat check.
  const jti = `${claims.iss} ${String(claims.jti)}`;
  const fresh = await store.firstUse(jti, claims.iat + LOGOUT_TOKEN_MAX_AGE_S + CLOCK_TOLERANCE_S, deadline);
  if (!fresh) throw new LogoutTokenError('the logout token was already used (jti)');
  try {
    await store.deleteMatching(selector, deadline);
  } catch (error) {
    // The table failed (503/504): the server retries the same token, which must not then be a replay.
    await store.forget(jti, deadline).catch(() => undefined);
    throw error;
  }
  // 2.8: 200 with Cache-Control: no-store.
  return c.body(null, 200, { 'Cache-Control': 'no-store' });
}

/** 2.5: application/x-www-form-urlencoded with one logout_token. */
async function logoutTokenOf(c: Context<ProxyEnv>): Promise<string> {
  const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new InvalidRequestError('the logout request must be application/x-www-form-urlencoded');
  if (Number(c.req.header('content-length') ?? '0') > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  const tokens = new URLSearchParams(text).getAll('logout_token');
  if (tokens.length !== 1 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(tokens[0]!)) {
    throw new InvalidRequestError('the logout request needs exactly one logout_token, a signed JWT');
  }
  return tokens[0]!;
}

/** 2.6 steps 4-5 and 2.4: the events claim, iat not too old, a sid or a sub (both strings when present). */
function selectorOf(claims: IdTokenClaims, now: number): SessionSelector {
  const events = claims.events as unknown;
  if (typeof events !== 'object' || events === null || Array.isArray(events) || !Object.hasOwn(events, BACKCHANNEL_LOGOUT_EVENT)) {
    throw new LogoutTokenError('the logout token has no back-channel logout event');
  }
  const member = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
  if (typeof member !== 'object' || member === null || Array.isArray(member)) throw new LogoutTokenError('the logout token\'s event is not a JSON object');
  if (claims.iat < now - LOGOUT_TOKEN_MAX_AGE_S) throw new LogoutTokenError('the logout token was issued too long ago');
  if (typeof claims.jti !== 'string' || claims.jti === '') throw new LogoutTokenError('the logout token\'s "jti" claim is not valid');
  const sid = (claims as { sid?: unknown }).sid;
  if (sid !== undefined && (typeof sid !== 'string' || sid === '')) throw new LogoutTokenError('the logout token\'s "sid" claim is not valid');
  const sub = claims.sub as string | undefined;
  if (sid !== undefined) return { sid, ...(sub === undefined ? {} : { sub }) };
  if (sub !== undefined) return { sub };
  throw new LogoutTokenError('the logout token names neither a sid nor a sub');
}
