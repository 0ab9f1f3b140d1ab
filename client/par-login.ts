/**
 * The browser side of the PAR proxy: a login for single-page apps with no framework and no
 * dependency, WebCrypto only. `startLogin` makes the PKCE verifier, state and nonce, has the proxy
 * push a signed request, keeps them in sessionStorage with the issuer the proxy named, and sends the
 * browser to the authorization server, on that issuer's origin only. `completeLogin`, on the
 * redirect URI, checks iss (RFC 9207) and state, has the proxy redeem the code, and checks the ID
 * token's iss, aud, exp and nonce (OpenID Connect Core 3.1.3.7).
 */
import { jarmParameters } from './jarm.ts';
import { createProof, dpopKey, rememberNonce, type DpopKeyStore } from './dpop.ts';
import { webUrl } from './web-url.ts';

export interface StartLoginOptions {
  /** The proxy's base URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com */
  readonly proxyUrl: string;
  /** Must be one of the proxy's ALLOWED_REDIRECT_URIS, exactly. */
  readonly redirectUri: string;
  readonly scope?: string;
  /** Further intent fields the proxy accepts: audience, prompt, login_hint, max_age, ... */
  readonly params?: Readonly<Record<string, string | number>>;
  /** `jwt`: ask for a signed authorization response (JARM), which completeLogin verifies (client/jarm.ts). */
  readonly responseMode?: 'jwt';
  /** Defaults to window.location.assign. */
  readonly navigate?: (url: string) => void;
  readonly storage?: Storage;
  /** The proxy runs with DPOP=true: bind the tokens to this origin's DPoP key (RFC 9449, client/dpop.ts). */
  readonly dpop?: boolean;
  /** Where the DPoP key is kept; IndexedDB by default. */
  readonly dpopKeyStore?: DpopKeyStore;
}

export interface CompleteLoginOptions {
  /** Defaults to window.location.href. */
  readonly url?: string;
  readonly storage?: Storage;
  readonly dpopKeyStore?: DpopKeyStore;
}

export interface TokenSet {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in?: number;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly scope?: string;
  /** The ID token's claims, when there is one: iss, aud, azp, exp and nonce checked, the signature not. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** With DPoP: the token endpoint the proofs name (RFC 9449 4.2 htu), for refreshTokens. */
  readonly tokenEndpoint?: string;
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
  /** The authorization server's issuer identifier, exactly as /par named it. */
  readonly issuer: string;
  /** The client_id the proxy pushed the request as: the ID token's audience. */
  readonly clientId: string;
  /** RFC 9207 3: the server puts iss in every authorization response, so one without is refused. */
  readonly issParameterSupported: boolean;
  /** JARM was asked for: the callback must carry one signed response, and nothing else. */
  readonly responseMode?: 'jwt';
  /** With DPoP: the token endpoint /par named, the htu of the proofs. */
  readonly tokenEndpoint?: string;
}

/**
 * OpenID Connect Core 3.1.3.7 step 9 allows "some small leeway" on exp for clock skew. The token
 * comes straight from the token endpoint, so exp is a whole token lifetime ahead (minutes to hours)
 * and only a device clock ahead by more than that fails; a minute absorbs drift beyond it, yet a
 * token that expired minutes ago is still refused.
 */
const EXP_LEEWAY_SECONDS = 60;

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

async function send(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    credentials: 'omit',
  });
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  const refused = () => new LoginError(String(json.error ?? 'server_error'), String(json.error_description ?? `HTTP ${response.status}`));
  return { response, json, refused };
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const { response, json, refused } = await send(url, body);
  if (!response.ok) throw refused();
  return json;
}

interface DpopOptions {
  readonly tokenEndpoint: string;
  readonly keyStore?: DpopKeyStore;
}

/**
 * POST /token, with a DPoP proof for the token endpoint when the login uses DPoP; a use_dpop_nonce
 * answer is retried once with the server's nonce (RFC 9449 8), never more.
 */
async function tokenRequest(proxyUrl: string, body: Record<string, string>, dpop?: DpopOptions): Promise<TokenSet> {
  if (dpop === undefined) return (await post(`${proxyUrl}/token`, body)) as unknown as TokenSet;
  const key = await dpopKey(dpop.keyStore);
  for (let attempt = 1; ; attempt += 1) {
    const proof = await createProof(key, 'POST', dpop.tokenEndpoint);
    const { response, json, refused } = await send(`${proxyUrl}/token`, body, { dpop: proof });
    const nonce = response.headers.get('dpop-nonce');
    rememberNonce(dpop.tokenEndpoint, nonce);
    if (response.ok) return { ...(json as unknown as TokenSet), tokenEndpoint: dpop.tokenEndpoint };
    if (attempt > 1 || json.error !== 'use_dpop_nonce' || nonce === null) throw refused();
  }
}

/**
 * Where /par's answer sends the browser, and what the callback will be checked against. Only the
 * issuer's own origin: the request_uri and the user's login belong to that server and no other.
 */
function authorizationRequest(pushed: Record<string, unknown>) {
  const issuer = webUrl(pushed.issuer);
  if (issuer === undefined) throw new LoginError('server_error', 'the proxy answered without a usable issuer');
  const url = webUrl(pushed.authorization_url);
  if (url === undefined || url.origin !== issuer.origin) {
    throw new LoginError('invalid_authorization_url', "the authorization_url is not an https URL on the issuer's origin");
  }
  const clientId = url.searchParams.get('client_id');
  if (clientId === null || clientId === '') throw new LoginError('invalid_authorization_url', 'the authorization_url has no client_id');
  return {
    url: url.href,
    issuer: pushed.issuer as string,
    clientId,
    issParameterSupported: pushed.authorization_response_iss_parameter_supported === true,
  };
}

/** /par's token_endpoint with DPoP: on the issuer's origin, as its authorization endpoint. */
function dpopTokenEndpoint(pushed: Record<string, unknown>): string {
  const url = webUrl(pushed.token_endpoint);
  if (url === undefined || url.origin !== webUrl(pushed.issuer)?.origin) {
    throw new LoginError('server_error', "the proxy answered without a token_endpoint on the issuer's origin (is DPOP=true set?)");
  }
  return url.href;
}

export async function startLogin(options: StartLoginOptions): Promise<void> {
  const storage = options.storage ?? sessionStorage;
  // A new login replaces any earlier one of this tab; one that fails to start leaves none behind.
  storage.removeItem(STORAGE_KEY);
  const proxyUrl = options.proxyUrl.replace(/\/$/, '');
  const secrets = { state: randomString(), nonce: randomString(), verifier: randomString() };
  // RFC 9449 10: the code is bound to the key, so only a proof of it redeems the code.
  const dpop = options.dpop === true ? { dpop_jkt: (await dpopKey(options.dpopKeyStore)).jkt } : {};
  const pushed = await post(`${proxyUrl}/par`, {
    ...options.params,
    ...dpop,
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid',
    state: secrets.state,
    nonce: secrets.nonce,
    code_challenge: await codeChallenge(secrets.verifier),
    code_challenge_method: 'S256',
    ...(options.responseMode === undefined ? {} : { response_mode: options.responseMode }),
  });
  const { url, ...server } = authorizationRequest(pushed);
  const tokenEndpoint = options.dpop === true ? dpopTokenEndpoint(pushed) : undefined;
  const pending: PendingLogin = {
    proxyUrl,
    redirectUri: options.redirectUri,
    ...secrets,
    ...server,
    ...(options.responseMode === undefined ? {} : { responseMode: options.responseMode }),
    ...(tokenEndpoint && { tokenEndpoint }),
  };
  storage.setItem(STORAGE_KEY, JSON.stringify(pending));
  const navigate = options.navigate ?? ((target: string) => window.location.assign(target));
  navigate(url);
}

function readPending(raw: string): PendingLogin {
  let pending: Partial<PendingLogin> | null;
  try {
    pending = JSON.parse(raw) as Partial<PendingLogin> | null;
  } catch {
    pending = null;
  }
  const strings = ['proxyUrl', 'redirectUri', 'state', 'nonce', 'verifier', 'issuer', 'clientId'] as const;
  // A record this version did not write (or a login started before an update): start again.
  if (pending === null || typeof pending !== 'object' || strings.some((name) => typeof pending[name] !== 'string')) {
    throw new LoginError('login_required', 'no login is in progress in this tab');
  }
  return pending as PendingLogin;
}

/**
 * RFC 9207 2.4: an authorization response, success or error, names its issuer in iss, compared as
 * a simple string with the issuer this login went to. A server that advertises iss always sends
 * it, so a response without it did not come from that server as it answers (mix-up).
 */
function checkIssuer(params: URLSearchParams, pending: PendingLogin): void {
  const iss = params.get('iss');
  if (iss === null && pending.issParameterSupported) {
    throw new LoginError('invalid_issuer', 'the authorization response has no iss, though its server always sends one');
  }
  if (iss !== null && iss !== pending.issuer) {
    throw new LoginError('invalid_issuer', 'the authorization response comes from another issuer');
  }
}

/** OpenID Connect Core 3.1.3.7: the ID token is this issuer's, for this client, current, and this login's. */
function checkIdToken(claims: Record<string, unknown>, pending: PendingLogin, nowSeconds: number): void {
  const invalid = (description: string) => new LoginError('invalid_id_token', description);
  // Step 2: exactly the issuer.
  if (claims.iss !== pending.issuer) throw invalid('the ID token iss is not the issuer of this login');
  // Step 3: this client, and no other audience (this client trusts none).
  const audiences = Array.isArray(claims.aud) ? (claims.aud as unknown[]) : [claims.aud];
  if (audiences.length !== 1 || audiences[0] !== pending.clientId) throw invalid('the ID token aud is not this client alone');
  // Step 5: an authorized party, if named, is this client.
  if (claims.azp !== undefined && claims.azp !== pending.clientId) throw invalid('the ID token azp is not this client');
  // Step 9: not expired, give or take the leeway.
  if (typeof claims.exp !== 'number' || nowSeconds >= claims.exp + EXP_LEEWAY_SECONDS) {
    throw invalid('the ID token exp is missing or has passed');
  }
  // Step 11: the nonce this login sent.
  if (claims.nonce !== pending.nonce) throw new LoginError('invalid_nonce', 'the ID token nonce does not match this login');
}

export async function completeLogin(options: CompleteLoginOptions = {}): Promise<TokenSet> {
  const storage = options.storage ?? sessionStorage;
  const raw = storage.getItem(STORAGE_KEY);
  // One attempt per login: the verifier, state and nonce are gone whatever happens next.
  storage.removeItem(STORAGE_KEY);
  if (raw === null) throw new LoginError('login_required', 'no login is in progress in this tab');
  const pending = readPending(raw);
  const query = new URL(options.url ?? window.location.href).searchParams;
  // JARM: code, state and iss only from the verified JWT, never from the query beside it.
  const params = pending.responseMode === 'jwt' ? await jarmParameters(query, { ...pending, fail: (error, description) => new LoginError(error, description) }) : query;
  checkIssuer(params, pending);
  const error = params.get('error');
  const refused = () => new LoginError(error!, params.get('error_description') ?? 'the authorization server refused');
  // A server that could not read the request has no state to return (RFC 6749 4.1.2.1; oidc-provider's
  // invalid_request_uri): its error is reported as such. Anyone could send one, so its description
  // is not to be shown as trusted text; it redeems nothing, and the login is over either way.
  if (error !== null && !params.has('state')) throw refused();
  // RFC 6749 10.12, RFC 9700 4.7: a response to a login this tab did not start is refused (login CSRF).
  if (params.get('state') !== pending.state) throw new LoginError('invalid_state', 'the state does not match this login');
  if (error !== null) throw refused();
  const code = params.get('code');
  if (code === null) throw new LoginError('invalid_request', 'the callback has no code');
  const dpop = typeof pending.tokenEndpoint === 'string' ? { tokenEndpoint: pending.tokenEndpoint, keyStore: options.dpopKeyStore } : undefined;
  const tokens = await tokenRequest(
    pending.proxyUrl,
    { grant_type: 'authorization_code', code, code_verifier: pending.verifier, redirect_uri: pending.redirectUri },
    dpop,
  );
  if (tokens.id_token === undefined) return tokens;
  const claims = decodeJwtPayload(tokens.id_token);
  checkIdToken(claims, pending, Math.floor(Date.now() / 1000));
  return { ...tokens, claims };
}

/**
 * A new token set from a refresh token, through the proxy (RFC 6749 6). With DPoP, `dpop` is the
 * login's `tokenEndpoint` (and key store): the proxy opens the sealed refresh token only for a proof
 * of the key it was sealed to.
 */
export async function refreshTokens(proxyUrl: string, refreshToken: string, dpop?: DpopOptions): Promise<TokenSet> {
  return tokenRequest(proxyUrl.replace(/\/$/, ''), { grant_type: 'refresh_token', refresh_token: refreshToken }, dpop);
}

/**
 * The ID token's claims. Its signature is not checked here: the proxy received it straight from
 * the token endpoint over TLS (OpenID Connect Core 3.1.3.7 step 6), and the SPA trusts the proxy.
 */
export function decodeJwtPayload(jwt: string): Record<string, unknown> {
  let claims: unknown;
  try {
    const payload = jwt.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    claims = undefined;
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new LoginError('invalid_id_token', 'the ID token is not a JWT with a JSON object payload');
  }
  return claims as Record<string, unknown>;
}
