/**
 * The browser side of the proxy's bff mode (RFC 10017 6.1): no framework, no dependency. The proxy
 * is the OAuth client: it makes the PKCE verifier, state and nonce, redeems the code at its own
 * /callback and keeps every token in an HttpOnly cookie, so no token ever reaches this script. This
 * module starts the login, reads the session, calls APIs through the proxy and logs out.
 *
 * Every call carries `X-CSRF: 1`, which the proxy requires on each route script calls: a custom
 * header makes a cross-origin call preflighted, so CORS refuses it (the CSRF defence RFC 10017 asks
 * for beyond SameSite). Every call sends the session cookie (`credentials: 'include'`, for a proxy
 * on another origin of the same site) and is never cached (`cache: 'no-store'`).
 */
import { webUrl } from './web-url.ts';

export interface BffClientOptions {
  /** The proxy's origin, e.g. https://app.example.com; defaults to the page's own. */
  readonly proxyUrl?: string;
  /** The proxy's BASE_PATH, e.g. /bff; default none. */
  readonly basePath?: string;
  /** Defaults to window.location.assign. */
  readonly navigate?: (url: string) => void;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

export interface BffLoginOptions {
  /** Default openid. */
  readonly scope?: string;
  /** Where the proxy's /callback sends the browser back to, a path on APP_URL: /orders?id=7. Default /. */
  readonly returnTo?: string;
  /**
   * Further intent fields the proxy accepts: audience, prompt, login_hint, max_age, ... Not
   * redirect_uri, code_challenge, state or nonce: the proxy makes those, and refuses them here.
   */
  readonly params?: Readonly<Record<string, string | number>>;
}

export type BffSession =
  | {
      readonly authenticated: true;
      /** The claims of the ID token the proxy verified at the callback. */
      readonly claims: Readonly<Record<string, unknown>>;
      /** When the session ends, in seconds since the epoch (SESSION_MAX_AGE after the login). */
      readonly expiresAt: number;
    }
  | { readonly authenticated: false };

export interface BffClient {
  /** Has the proxy push the login's request, then navigates to the authorization server. */
  startLogin(options?: BffLoginOptions): Promise<void>;
  getSession(): Promise<BffSession>;
  /**
   * Calls API_UPSTREAMS[name] + /path through the proxy, which adds the access token. The answer is
   * the API's (or the proxy's refusal: 400, 404, 405, 413, 502, 503), except a LoginRequiredError.
   */
  callApi(name: string, path: string, init?: RequestInit): Promise<Response>;
  /** Ends the session at the proxy, then navigates to the authorization server's logout, if any. */
  logout(): Promise<void>;
}

/** A failed call: `error` is an OAuth error code (RFC 6749 4.1.2.1, 5.2) or one of this module's. */
export class BffError extends Error {
  override readonly name: string = 'BffError';
  constructor(
    readonly error: string,
    readonly description: string,
    /** The proxy's HTTP status, when the proxy answered. */
    readonly status?: number,
  ) {
    super(`${error}: ${description}`);
  }
}

/** There is no session, or it can no longer be refreshed: the SPA shows "Sign in". */
export class LoginRequiredError extends BffError {
  override readonly name: string = 'LoginRequiredError';
  constructor(description: string) {
    super('login_required', description, 401);
  }
}

/** API_UPSTREAMS names, as the proxy accepts them. */
const API_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

type Json = Record<string, unknown>;

/** The proxy's JSON error, as a typed error. */
async function refusal(response: Response): Promise<BffError> {
  const json = (await response.json().catch(() => ({}))) as Json;
  const error = typeof json.error === 'string' ? json.error : 'server_error';
  const description = typeof json.error_description === 'string' ? json.error_description : `HTTP ${response.status}`;
  return response.status === 401 && error === 'login_required' ? new LoginRequiredError(description) : new BffError(error, description, response.status);
}

async function jsonOf(response: Response): Promise<Json> {
  if (!response.ok) throw await refusal(response);
  const json = (await response.json().catch(() => undefined)) as unknown;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BffError('server_error', 'the proxy answered without a JSON object', response.status);
  }
  return json as Json;
}

/** The proxy's routes' common prefix: origin + BASE_PATH + '/'. */
function baseUrl(options: BffClientOptions): URL {
  const basePath = (options.basePath ?? '').replace(/\/$/, '');
  if (basePath !== '' && !/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/.test(basePath)) {
    throw new TypeError('basePath must be a path such as /bff, without query or fragment');
  }
  const origin = new URL(options.proxyUrl ?? window.location.origin).origin;
  const base = new URL(`${origin}${basePath}/`);
  if (base.pathname !== `${basePath}/`) throw new TypeError('basePath must have no dot segments');
  return base;
}

/**
 * Where /par's answer sends the browser: an https URL (http on loopback), and on the issuer's
 * origin when the proxy names it: the request_uri and the user's login belong to that server only.
 */
function authorizationUrl(pushed: Json): string {
  const url = webUrl(pushed.authorization_url);
  if (url === undefined) throw new BffError('invalid_authorization_url', 'the authorization_url is not an https URL');
  if (pushed.issuer !== undefined) {
    const issuer = webUrl(pushed.issuer);
    if (issuer === undefined) throw new BffError('server_error', 'the proxy answered with an unusable issuer');
    if (url.origin !== issuer.origin) throw new BffError('invalid_authorization_url', "the authorization_url is not on the issuer's origin");
  }
  return url.href;
}

function session(json: Json): BffSession {
  if (json.authenticated === false) return { authenticated: false };
  const { claims, expires_at: expiresAt } = json;
  if (json.authenticated !== true || typeof claims !== 'object' || claims === null || Array.isArray(claims) || typeof expiresAt !== 'number') {
    throw new BffError('server_error', 'the proxy answered /session with an unknown shape');
  }
  return { authenticated: true, claims: claims as Json, expiresAt };
}

export function createBffClient(options: BffClientOptions = {}): BffClient {
  const base = baseUrl(options);
  const navigate = options.navigate ?? ((url: string) => window.location.assign(url));
  const call = (url: URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('x-csrf', '1');
    return (options.fetch ?? fetch)(url.href, { ...init, headers, credentials: 'include', cache: 'no-store' });
  };
  const route = (path: string) => new URL(path, base);

  return {
    async startLogin(login = {}) {
      const intent = { ...login.params, scope: login.scope ?? 'openid', ...(login.returnTo === undefined ? {} : { return_to: login.returnTo }) };
      const answer = await call(route('par'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(intent) });
      navigate(authorizationUrl(await jsonOf(answer)));
    },

    async getSession() {
      return session(await jsonOf(await call(route('session'))));
    },

    async callApi(name, path, init) {
      const prefix = route(`api/${name}/`);
      const url = route(`api/${name}/${path.replace(/^\//, '')}`);
      // The URL parser resolves dot segments (raw, %2e, with backslashes) before the proxy sees
      // them: a path that leaves this API's prefix would reach another route, such as /logout.
      if (!API_NAME.test(name) || !url.pathname.startsWith(prefix.pathname)) {
        throw new BffError('invalid_request', 'the API name or path leaves the API');
      }
      const response = await call(url, init);
      if (response.status === 401) {
        const refused = await refusal(response.clone());
        if (refused instanceof LoginRequiredError) throw refused;
      }
      return response;
    },

    async logout() {
      const { logout_url: logoutUrl } = await jsonOf(await call(route('logout'), { method: 'POST' }));
      if (logoutUrl === null || logoutUrl === undefined) return;
      const url = webUrl(logoutUrl);
      // The session is over at the proxy either way; only the authorization server's is kept.
      if (url === undefined) throw new BffError('invalid_logout_url', 'the logout_url is not an https URL');
      navigate(url.href);
    },
  };
}

/** RFC 6749 4.1.2.1: error and error_description are %x20-21 / %x23-5B / %x5D-7E. */
function oauthText(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '').slice(0, 256);
}

/**
 * The error the proxy's /callback sent the browser back with (303 to APP_URL + return_to +
 * ?error=...&error_description=...), removed from the address bar so a reload does not show it
 * again. Anyone can link to the app with these parameters: show them as text, never as markup.
 */
export function readCallbackError(
  location: { readonly href: string } = window.location,
  history: Pick<History, 'replaceState' | 'state'> = window.history,
): BffError | undefined {
  const url = new URL(location.href);
  const error = url.searchParams.get('error');
  if (error === null) return undefined;
  const description = url.searchParams.get('error_description') ?? '';
  url.searchParams.delete('error');
  url.searchParams.delete('error_description');
  history.replaceState(history.state, '', url.href);
  return new BffError(oauthText(error) || 'server_error', oauthText(description) || 'the login failed');
}
