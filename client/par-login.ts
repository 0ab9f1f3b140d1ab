/**
 * The browser side of the PAR proxy: a login for single-page apps with no framework and no
 * dependency, WebCrypto only. `startLogin` makes the PKCE verifier, state and nonce, keeps them in
 * sessionStorage, has the proxy push a signed request, and sends the browser to the authorization
 * server. `completeLogin`, on the redirect URI, checks state, has the proxy redeem the code, and
 * checks the ID token's nonce.
 */
export interface StartLoginOptions {
  /** The proxy's base URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com */
  readonly proxyUrl: string;
  /** Must be one of the proxy's ALLOWED_REDIRECT_URIS, exactly. */
  readonly redirectUri: string;
  readonly scope?: string;
  /** Further intent fields the proxy accepts: audience, prompt, login_hint, max_age, ... */
  readonly params?: Readonly<Record<string, string | number>>;
  /** Defaults to window.location.assign. */
  readonly navigate?: (url: string) => void;
  readonly storage?: Storage;
}

export interface CompleteLoginOptions {
  /** Defaults to window.location.href. */
  readonly url?: string;
  readonly storage?: Storage;
}

export interface TokenSet {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in?: number;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly scope?: string;
  /** The ID token's claims, when there is one; its nonce has been checked. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** A failed login: `error` is an OAuth error code (RFC 6749 4.1.2.1, 5.2) or one of this module's. */
export class LoginError extends Error {
  override readonly name = 'LoginError';
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
  }
}

const STORAGE_KEY = 'par-proxy:login';

interface PendingLogin {
  readonly proxyUrl: string;
  readonly redirectUri: string;
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
export async function codeChallenge(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'omit',
  });
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    throw new LoginError(String(json.error ?? 'server_error'), String(json.error_description ?? `HTTP ${response.status}`));
  }
  return json;
}

export async function startLogin(options: StartLoginOptions): Promise<void> {
  const pending: PendingLogin = {
    proxyUrl: options.proxyUrl.replace(/\/$/, ''),
    redirectUri: options.redirectUri,
    state: randomString(),
    nonce: randomString(),
    verifier: randomString(),
  };
  (options.storage ?? sessionStorage).setItem(STORAGE_KEY, JSON.stringify(pending));
  const pushed = await post(`${pending.proxyUrl}/par`, {
    ...options.params,
    redirect_uri: pending.redirectUri,
    scope: options.scope ?? 'openid',
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await codeChallenge(pending.verifier),
    code_challenge_method: 'S256',
  });
  const navigate = options.navigate ?? ((url: string) => window.location.assign(url));
  navigate(String(pushed.authorization_url));
}

export async function completeLogin(options: CompleteLoginOptions = {}): Promise<TokenSet> {
  const storage = options.storage ?? sessionStorage;
  const raw = storage.getItem(STORAGE_KEY);
  // One attempt per login: the verifier, state and nonce are gone whatever happens next.
  storage.removeItem(STORAGE_KEY);
  if (raw === null) throw new LoginError('login_required', 'no login is in progress in this tab');
  const pending = JSON.parse(raw) as PendingLogin;
  const params = new URL(options.url ?? window.location.href).searchParams;
  // RFC 6749 10.12, RFC 9700 4.7: a response to a login this tab did not start is refused (login CSRF).
  if (params.get('state') !== pending.state) throw new LoginError('invalid_state', 'the state does not match this login');
  const error = params.get('error');
  if (error !== null) throw new LoginError(error, params.get('error_description') ?? 'the authorization server refused');
  const code = params.get('code');
  if (code === null) throw new LoginError('invalid_request', 'the callback has no code');
  const tokens = (await post(`${pending.proxyUrl}/token`, {
    grant_type: 'authorization_code',
    code,
    code_verifier: pending.verifier,
    redirect_uri: pending.redirectUri,
  })) as unknown as TokenSet;
  if (tokens.id_token === undefined) return tokens;
  const claims = decodeJwtPayload(tokens.id_token);
  // OpenID Connect Core 3.1.3.7 step 11: the nonce must be the one this login sent.
  if (claims.nonce !== pending.nonce) throw new LoginError('invalid_nonce', 'the ID token nonce does not match this login');
  return { ...tokens, claims };
}

/** A new token set from a refresh token, through the proxy (RFC 6749 6). */
export async function refreshTokens(proxyUrl: string, refreshToken: string): Promise<TokenSet> {
  return (await post(`${proxyUrl.replace(/\/$/, '')}/token`, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
  })) as unknown as TokenSet;
}

/**
 * The ID token's claims. Its signature is not checked here: the proxy received it straight from
 * the token endpoint over TLS (OpenID Connect Core 3.1.3.7 step 6), and the SPA trusts the proxy.
 */
export function decodeJwtPayload(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}
