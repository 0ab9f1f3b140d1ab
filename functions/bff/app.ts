import { timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { forwardToApi } from '../adapters/api-upstream.ts';
import { isErrorCode, isErrorDescription, type AuthorizationServer } from '../adapters/authorization-server.ts';
import type { ClientAuthentication } from '../adapters/client-authentication.ts';
import { endSessionUrl } from '../adapters/end-session.ts';
import { InvalidIdTokenError, type IdTokenVerifier } from '../adapters/id-token.ts';
import type { JarmVerifier } from '../adapters/jarm.ts';
import type { KmsSigner } from '../adapters/kms-signer.ts';
import { revokeToken } from '../adapters/revocation.ts';
import type { SessionKeySource } from '../adapters/session-keys.ts';
import { requestTokenSet } from '../adapters/token-endpoint.ts';
import { originCheck, readJsonBody, requireCsrfHeader } from '../app/http.ts';
import { METRIC, type Telemetry } from '../app/observability.ts';
import { proxyApp, startDeadline, type ProxyAppOptions, type ProxyEnv } from '../app/proxy-app.ts';
import { signAndPush, issParameterSupported } from '../app/pushed-login.ts';
import { MethodNotAllowedError, resolveApiTarget } from '../core/api-path.ts';
import { parseBffIntent } from '../core/bff-intent.ts';
import type { BffConfig } from '../core/config.ts';
import type { Deadline } from '../core/deadline.ts';
import { DpopNonces } from '../core/dpop-nonces.ts';
import { dpopJkt, dpopProver, newDpopKey, type DpopKey, type DpopProver } from '../core/dpop-proof.ts';
import type { SessionStore } from '../core/session-store.ts';
import { InvalidRequestError, OAuthError, PayloadTooLargeError, ServerError, UpstreamRefusedError } from '../core/errors.ts';
import { returnToUrl } from '../core/return-to.ts';
import { backchannelLogout, type LogoutTokenVerifier } from './backchannel-logout.ts';
import { ServerSessions } from './server-sessions.ts';
import {
  clearLoginCookie,
  clearSessionCookies,
  loginCookieName,
  loginCookieNames,
  loginCookiesToClear,
  loginSetCookie,
  newLogin,
  newSession,
  parseLoginPayload,
  parseSessionPayload,
  readSessionCookie,
  refreshDue,
  refreshedSession,
  sessionMaxAge,
  sessionSetCookies,
  type LoginPayload,
  type RequestCookies,
  type SessionPayload,
} from '../core/session.ts';

export interface BffDependencies {
  readonly config: BffConfig;
  readonly signer: Pick<KmsSigner, 'signJwt'>;
  readonly authorizationServer: AuthorizationServer;
  readonly clientAuthentication: ClientAuthentication;
  readonly sessionKeys: Pick<SessionKeySource, 'seal' | 'open'>;
  readonly idTokens: Pick<IdTokenVerifier, 'verify'> & Partial<LogoutTokenVerifier>;
  /** With RESPONSE_MODE=jwt: the JARM response's parameters, verified. */
  readonly authorizationResponses?: Pick<JarmVerifier, 'parameters'>;
  /** SESSION_STORE=dynamodb: where sessions live (the cookie holds only an id). */
  readonly sessionStore?: SessionStore;
  readonly telemetry: Telemetry;
  readonly originVerification?: ProxyAppOptions['originVerification'];
  /** Milliseconds since the epoch. */
  readonly clock: () => number;
}

/** The API's request body, after API Gateway's base64 decoding. */
export const MAX_API_BODY_BYTES = 1024 * 1024;
/** Login cookies /par opens to find the oldest; any beyond are cleared unopened (a forged pile costs nothing). */
const MAX_LOGIN_COOKIES_OPENED = 8;
const JS_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const NO_STORE = { 'Cache-Control': 'no-store' } as const;

/**
 * The backend-for-frontend (RFC 10017 6.1): the browser holds sealed HttpOnly cookies, never a
 * token. /par starts a login whose verifier, state and nonce only this proxy knows; /callback
 * redeems the code and starts the session; /session says who is signed in; /api/{name}/... forwards
 * to an allow-listed API with the access token, refreshing it inline; /logout ends it all.
 */
export function createBffApp(deps: BffDependencies): Hono<ProxyEnv> {
  const { config, clock, sessionKeys } = deps;
  const app = proxyApp(deps);
  const base = config.basePath;
  const nowSeconds = () => Math.floor(clock() / 1000);
  /** The session keys are cached per container: Secrets Manager's time is reported only when they had to be loaded. */
  const withKeys = <T>(deadline: Deadline, use: (signal: () => AbortSignal) => Promise<T>): Promise<T> => deadline.cached('secrets_manager', use);
  // RFC 9449 8, 9: the servers' nonces, per origin, for this container's life.
  const nonces = new DpopNonces();
  const prover = (key: DpopKey | undefined): DpopProver | undefined => (key === undefined ? undefined : dpopProver(key, nonces, clock));
  const stored = serverSessions(deps);

  // A path that normalisation would change (`..`, `.`, encoded dots) is refused before routing:
  // `/api/x/../../logout` must not reach /logout, nor any route another one.
  app.use(async (c, next) => {
    if (hasDotSegment(rawTarget(c).path)) throw new InvalidRequestError('the path must not contain . or .. segments');
    await next();
  });
  for (const path of ['/par', '/session', '/logout', '/api/*']) {
    app.use(`${base}${path}`, originCheck(config.allowedOrigins, JS_METHODS, { credentials: true, allowHeaders: 'content-type, x-csrf' }));
    app.use(`${base}${path}`, requireCsrfHeader());
  }

  const openSession = async (cookies: RequestCookies, deadline: Deadline): Promise<SessionPayload | undefined> => {
    if (stored !== undefined) return stored.open(cookies, deadline);
    const sealed = readSessionCookie(cookies);
    if (sealed === undefined) return undefined;
    const opened = await withKeys(deadline, (signal) => sessionKeys.open(sealed, 'session', nowSeconds(), signal));
    return opened.payload === undefined ? undefined : parseSessionPayload(opened.payload);
  };
  const writeSession = async (c: Context<ProxyEnv>, session: SessionPayload, cookies: RequestCookies, deadline: Deadline) => {
    if (stored !== undefined) {
      for (const value of await stored.start(session, cookies, deadline)) setCookie(c, value);
      return;
    }
    const sealed = await withKeys(deadline, (signal) => sessionKeys.seal(session, 'session', signal));
    for (const value of sessionSetCookies(sealed, sessionMaxAge(session, nowSeconds()), cookies)) setCookie(c, value);
  };
  const endSession = (c: Context<ProxyEnv>, cookies: RequestCookies) => {
    for (const value of clearSessionCookies(cookies)) setCookie(c, value);
  };

  app.post(`${base}/par`, async (c) => {
    const now = nowSeconds();
    const fresh = newLogin(undefined, now);
    // RFC 9449 10: a key per login, its thumbprint in the request object; the code then needs its proof.
    const dpopKey = config.dpop ? newDpopKey() : undefined;
    const { intent, returnTo } = parseBffIntent(await readJsonBody(c), config, {
      state: fresh.payload.state,
      nonce: fresh.payload.nonce,
      codeChallenge: fresh.codeChallenge,
      ...(dpopKey === undefined ? {} : { dpopJkt: dpopJkt(dpopKey) }),
    });
    const login: LoginPayload = {
      ...fresh.payload,
      ...(returnTo === undefined ? {} : { return_to: returnTo }),
      ...(dpopKey === undefined ? {} : { dpop_key: dpopKey }),
    };
    const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
    const pushed = await signAndPush(deps, intent, deadline);
    // Many tabs and abandoned logins must not pile up cookies (431): the oldest go first.
    const cookies = getCookie(c);
    const carried = loginCookieNames(cookies);
    const opened = await Promise.all(
      carried.slice(0, MAX_LOGIN_COOKIES_OPENED).map(async (name) => {
        const result = await withKeys(deadline, (signal) => sessionKeys.open(cookies[name] ?? '', 'login', now, signal));
        const iat = parseLoginPayload(result.payload)?.iat;
        return iat === undefined ? { name } : { name, iat };
      }),
    );
    for (const name of [...carried.slice(MAX_LOGIN_COOKIES_OPENED), ...loginCookiesToClear(opened)]) setCookie(c, clearLoginCookie(name));
    setCookie(c, loginSetCookie(login.state, await withKeys(deadline, (signal) => sessionKeys.seal(login, 'login', signal))));
    c.set('success', METRIC.pushed);
    return c.json(pushed, 201, NO_STORE);
  });

  // Reached by navigation from the authorization server: no X-CSRF, and every outcome a 303.
  app.get(`${base}/callback`, async (c) => {
    const cookies = getCookie(c);
    const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
    let login: LoginPayload | undefined;
    try {
      const query = await callbackParameters(new URL(c.req.url).searchParams, deps, deadline);
      const state = query.get('state') ?? '';
      const cookieName = loginCookieName(state);
      if (cookieName !== undefined) {
        setCookie(c, clearLoginCookie(cookieName));
        const sealed = cookies[cookieName];
        const opened = sealed === undefined ? undefined : await withKeys(deadline, (signal) => sessionKeys.open(sealed, 'login', nowSeconds(), signal));
        login = parseLoginPayload(opened?.payload);
      }
      if (login === undefined) throw new CallbackError('login_required', 'no login in progress in this browser, or it expired: sign in again');
      if (!sameText(login.state, state)) throw new CallbackError('invalid_state', 'the state is not the one this login sent');
      await checkIssuer(query.get('iss'), deps, deadline);
      const error = query.get('error');
      if (error !== null) {
        const description = query.get('error_description');
        throw new UpstreamRefusedError(
          400,
          isErrorCode(error) ? error : 'server_error',
          isErrorDescription(description) ? description : 'the authorization server refused the login',
        );
      }
      const code = query.get('code');
      if (code === null || !/^[\x21-\x7e]{1,2048}$/.test(code)) throw new CallbackError('invalid_request', 'the authorization response has no usable code');
      const tokens = await requestTokenSet(
        deps.authorizationServer,
        deps.clientAuthentication,
        config.clientId,
        { grant_type: 'authorization_code', code, code_verifier: login.code_verifier, redirect_uri: config.redirectUri },
        deadline,
        prover(login.dpop_key),
      );
      // OpenID Connect Core 3.1.3.3: the code flow answers with an ID token; it names the user.
      if (tokens.id_token === undefined) throw new InvalidIdTokenError('the token response has no ID token');
      const claims = await deps.idTokens.verify(tokens.id_token, login.nonce, deadline);
      const session = newSession({ ...tokens }, sessionClaims(claims), nowSeconds(), config.sessionMaxAge, login.dpop_key);
      await writeSession(c, session, cookies, deadline);
      c.set('success', METRIC.tokensIssued);
      // The answer that sets the session cookie is no more cacheable than the failures.
      c.header('Cache-Control', 'no-store');
      return c.redirect(returnToUrl(config.appUrl, login.return_to), 303);
    } catch (error) {
      const failure = error instanceof OAuthError ? error : new ServerError('unexpected error');
      c.set('answeredError', failure);
      c.header('Cache-Control', 'no-store');
      return c.redirect(
        returnToUrl(config.appUrl, login?.return_to, { error: failure.error, error_description: failure.description }),
        303,
      );
    }
  });

  app.get(`${base}/session`, async (c) => {
    const cookies = getCookie(c);
    const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
    const session = await openSession(cookies, deadline);
    if (session === undefined) {
      endSession(c, cookies);
      return c.json({ authenticated: false }, 200, NO_STORE);
    }
    return c.json({ authenticated: true, claims: session.claims, expires_at: session.exp }, 200, NO_STORE);
  });

  app.post(`${base}/logout`, async (c) => {
    const cookies = getCookie(c);
    const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
    // Server-side: the record goes first (server-sessions.ts), so that the cookie is dead at once.
    const ended = stored === undefined ? undefined : await stored.end(cookies, deadline);
    endSession(c, cookies);
    // RFC 7009: the refresh token (or the access token) stops working at the server too. A failure
    // (of the revocation, or of Secrets Manager opening the session) is logged and counted, but does
    // not keep anyone signed in here: the cookies are gone.
    try {
      const session = ended === undefined ? await openSession(cookies, deadline) : ended.session;
      if (session !== undefined) {
        await revokeToken(
          deps.authorizationServer,
          deps.clientAuthentication,
          config.clientId,
          session.refresh_token ?? session.access_token,
          session.refresh_token === undefined ? 'access_token' : 'refresh_token',
          deadline,
        );
      }
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      c.set('answeredError', error);
    }
    const logoutUrl = await endSessionUrl(deps.authorizationServer, config.clientId, config.postLogoutRedirectUri, deadline);
    return c.json({ logout_url: logoutUrl ?? null }, 200, NO_STORE);
  });

  app.on(JS_METHODS.split(', '), `${base}/api/:name/*`, async (c) => {
    const name = c.req.param('name');
    const target = rawTarget(c);
    const prefix = `${base}/api/${name}/`;
    if (!target.path.startsWith(prefix)) throw new InvalidRequestError('the API path is malformed');
    let resolved: ReturnType<typeof resolveApiTarget>;
    try {
      resolved = resolveApiTarget(config.apiUpstreams, name, target.path.slice(prefix.length), target.query, c.req.method);
    } catch (error) {
      if (error instanceof MethodNotAllowedError) c.header('Allow', error.allow.join(', '));
      throw error;
    }
    const body = await apiBody(c);
    const cookies = getCookie(c);
    const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
    const opened = await openSession(cookies, deadline);
    let session = opened;
    if (opened !== undefined && refreshDue(opened, nowSeconds())) {
      if (stored !== undefined) session = await stored.refresh(opened, deadline, (current) => refresh(current, deadline));
      else {
        session = await refresh(opened, deadline);
        if (session !== undefined) await writeSession(c, session, cookies, deadline);
      }
    }
    if (session === undefined) {
      endSession(c, cookies);
      // Logged and counted as Refused: the browser's state, or (a session with a refresh token) the
      // authorization server's refusal to refresh it.
      const refused = new OAuthError(401, 'login_required', 'sign in again', undefined, opened?.refresh_token === undefined ? undefined : 'authorization_server');
      c.set('answeredError', refused);
      return c.json(refused.toJSON(), 401, NO_STORE);
    }
    const accessToken = session.access_token;
    const answer = await deadline.timed('api', () =>
      forwardToApi(
        { method: c.req.method, url: new URL(resolved.url), headers: c.req.raw.headers, accessToken, ...(body === undefined ? {} : { body }), dpop: prover(session.dpop_key) },
        deadline,
      ),
    );
    const headers = new Headers(answer.headers);
    if (!headers.has('cache-control')) headers.set('Cache-Control', 'no-store');
    headers.forEach((value, header) => c.header(header, value));
    const empty = answer.status === 204 || answer.status === 304 || c.req.method === 'HEAD';
    return empty ? c.body(null, answer.status as 204) : c.body(new Uint8Array(answer.body), answer.status as 200);
  });

  // OpenID Connect Back-Channel Logout 1.0: server to server, so neither CORS nor X-CSRF.
  app.post(`${base}/backchannel-logout`, (c) => backchannelLogout(c, deps, startDeadline(c, clock, config.upstreamTimeoutMs)));

  /**
   * RFC 6749 6: a new access token before this one expires. A refused refresh (the grant is gone)
   * ends the session; a failing server keeps it, so that the SPA can try again.
   */
  async function refresh(session: SessionPayload, deadline: Deadline): Promise<SessionPayload | undefined> {
    if (session.refresh_token === undefined) return session.expires_at > nowSeconds() ? session : undefined;
    try {
      const tokens = await requestTokenSet(
        deps.authorizationServer,
        deps.clientAuthentication,
        config.clientId,
        { grant_type: 'refresh_token', refresh_token: session.refresh_token },
        deadline,
        prover(session.dpop_key),
      );
      return refreshedSession(session, { ...tokens }, nowSeconds());
    } catch (error) {
      if (error instanceof UpstreamRefusedError && error.error === 'invalid_grant') return undefined;
      throw error;
    }
  }

  return app;
}

/** SESSION_STORE=dynamodb: the sessions on the store; undefined with the cookie store. */
function serverSessions({ config, sessionStore, clock }: BffDependencies): ServerSessions | undefined {
  if (sessionStore === undefined) return undefined;
  if (config.sessionStore.kind !== 'dynamodb') throw new TypeError('a session store needs SESSION_STORE=dynamodb');
  return new ServerSessions({ store: sessionStore, idleTimeout: config.sessionStore.idleTimeout, clock });
}

/** A failure at the callback that is no one's but the browser's or the proxy's: answered as a redirect. */
class CallbackError extends OAuthError {
  override readonly name = 'CallbackError';
  constructor(error: string, description: string) {
    super(400, error, description);
  }
}

/** The authorization response: the query, or with RESPONSE_MODE=jwt the verified JARM response's parameters. */
async function callbackParameters(query: URLSearchParams, deps: BffDependencies, deadline: Deadline): Promise<URLSearchParams> {
  if (deps.config.responseMode !== 'jwt') return query;
  if (deps.authorizationResponses === undefined) throw new ServerError('RESPONSE_MODE=jwt without a JARM verifier');
  return deps.authorizationResponses.parameters(query, deadline);
}

/** RFC 9207 2.4: the response's iss must be the issuer; absent only where the server does not send it. */
async function checkIssuer(iss: string | null, deps: BffDependencies, deadline: Deadline): Promise<void> {
  if (iss === null) {
    if (await issParameterSupported(deps, deadline)) throw new CallbackError('invalid_issuer', 'the authorization response has no iss');
    return;
  }
  if (iss !== deps.config.issuer) throw new CallbackError('invalid_issuer', 'the authorization response comes from another issuer');
}

/** The ID token's claims the SPA may see: the nonce and the token hashes are protocol, not identity. */
function sessionClaims(claims: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { nonce: _nonce, at_hash: _atHash, c_hash: _cHash, s_hash: _sHash, ...rest } = claims;
  return rest;
}

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function setCookie(c: Context, value: string): void {
  c.header('Set-Cookie', value, { append: true });
}

/** The path and query exactly as the browser sent them (API Gateway's raw path, Node's request target). */
function rawTarget(c: Context<ProxyEnv>): { path: string; query: string } {
  const event = c.env?.event;
  if (event?.rawPath !== undefined) return { path: event.rawPath, query: event.rawQueryString ?? '' };
  const target = c.env?.incoming?.url;
  if (target !== undefined && target.startsWith('/')) {
    const at = target.indexOf('?');
    return at === -1 ? { path: target, query: '' } : { path: target.slice(0, at), query: target.slice(at + 1) };
  }
  const url = new URL(c.req.url);
  return { path: url.pathname, query: url.search.slice(1) };
}

/** A `.` or `..` segment, plain or percent-encoded (WHATWG URL treats `%2e` as a dot). */
function hasDotSegment(path: string): boolean {
  return path.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment));
}

async function apiBody(c: Context): Promise<Uint8Array | undefined> {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return undefined;
  if (Number(c.req.header('content-length') ?? '0') > MAX_API_BODY_BYTES) throw new PayloadTooLargeError(MAX_API_BODY_BYTES);
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > MAX_API_BODY_BYTES) throw new PayloadTooLargeError(MAX_API_BODY_BYTES);
  return bytes.byteLength === 0 ? undefined : bytes;
}
