import { completeLogin, LoginError, refreshTokens, startLogin, type TokenSet } from '../../client/par-login.ts';
import { button, claimsTable, clearFlow, element, flowList, readableTime, recordPush, recordStep, shorten, shortenTokens } from './flow.ts';

/**
 * The relay demo SPA: "Sign in", the callback, then the login step by step, a refresh through
 * /token and a real logout at the authorization server. The tokens stay in this page's memory
 * (a reload forgets them); only the claims are kept, to show them.
 */
const app = document.getElementById('app')!;
const CLAIMS_KEY = 'demo:claims';
const TOKEN_TYPE_KEY = 'demo:token-type';
const ISSUER_KEY = 'demo:issuer';
const CLIENT_ID_KEY = 'demo:client-id';
const proxyUrl = window.location.origin;
/** The local stack says whether the proxy runs with DPOP=true: then the tokens are bound to this origin's key. */
const dpop = document.querySelector('meta[name="par-dpop"]')?.getAttribute('content') === 'true';
let tokens: TokenSet | undefined;

/** The page's calls to the proxy, recorded for the flow as they happen: /par's intent and answer, /token's. */
const pageFetch = window.fetch.bind(window);
window.fetch = async (input, init) => {
  const response = await pageFetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input), window.location.href);
  if (url.origin !== proxyUrl || init?.method !== 'POST') return response;
  const body = JSON.parse(String(init.body)) as Record<string, unknown>;
  if (url.pathname === '/par') {
    const pushed = await recordPush(
      'What this page sends: unsigned. It made the PKCE verifier (kept in sessionStorage; only its S256 challenge is sent), state and nonce.',
      body,
      response,
      pageFetch,
    );
    if (typeof pushed.issuer === 'string') sessionStorage.setItem(ISSUER_KEY, pushed.issuer);
  }
  if (url.pathname === '/token') {
    const refresh = body.grant_type === 'refresh_token';
    recordStep({
      id: refresh ? 'refresh' : 'tokens',
      title: refresh ? `6. A refresh: POST /token, grant_type refresh_token (RFC 6749 6): ${response.status}` : `5. The token response: POST /token (RFC 6749 5.1): ${response.status}`,
      note: refresh
        ? `New tokens for the refresh token, redeemed by the proxy as the confidential client; shown shortened. At ${readableTime(Date.now() / 1000)}.`
        : 'The proxy redeemed the code with the verifier and the client\'s credentials; the tokens are this page\'s now (relay mode). Shown shortened. oidc-provider grants offline_access only with prompt=consent (OpenID Connect Core 11), so scope lacks it; the local server issues this confidential client a refresh token anyway, as Auth0 does for a client allowed offline access.',
      data: shortenTokens((await response.clone().json().catch(() => ({}))) as Record<string, unknown>),
    });
  }
  return response;
};

function showError(error: unknown): void {
  const message = error instanceof LoginError ? `${error.error}: ${error.description}` : String(error);
  app.prepend(element('p', message, { class: 'error', role: 'alert' }));
}

/**
 * OpenID Connect RP-Initiated Logout 1.0: the authorization server's end-session endpoint (from
 * its discovery document), which asks for a confirmation and comes back here. Without it the
 * server's session would sign the next "Sign in" straight back in as the same user.
 */
async function logout(): Promise<void> {
  const issuer = sessionStorage.getItem(ISSUER_KEY);
  const clientId = sessionStorage.getItem(CLIENT_ID_KEY);
  for (const key of [CLAIMS_KEY, TOKEN_TYPE_KEY, ISSUER_KEY, CLIENT_ID_KEY]) sessionStorage.removeItem(key);
  clearFlow();
  tokens = undefined;
  if (issuer === null || clientId === null) return render();
  const discovery = (await (await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)).json()) as { end_session_endpoint?: string };
  if (discovery.end_session_endpoint === undefined) return render();
  const url = new URL(discovery.end_session_endpoint);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('post_logout_redirect_uri', `${proxyUrl}/`);
  window.location.assign(url.href);
}

function render(): void {
  app.replaceChildren();
  const stored = sessionStorage.getItem(CLAIMS_KEY);
  if (stored === null) {
    app.append(
      button('Sign in', () => {
        clearFlow();
        return startLogin({ proxyUrl, redirectUri: `${proxyUrl}/callback`, scope: 'openid profile email offline_access', dpop });
      }, showError),
    );
    return;
  }
  const claims = JSON.parse(stored) as Record<string, unknown>;
  const tokenType = sessionStorage.getItem(TOKEN_TYPE_KEY) ?? '';
  app.append(element('h2', `Signed in as ${String(claims.name ?? claims.sub)}`));
  app.append(element('p', `Access token type: ${tokenType}`, { 'data-token-type': tokenType }));
  const actions = element('p', undefined, { class: 'actions' });
  const current = tokens;
  if (current?.refresh_token !== undefined) {
    const refreshToken = current.refresh_token;
    actions.append(
      button('Refresh the tokens', async () => {
        const dpopOptions = current.tokenEndpoint === undefined ? undefined : { tokenEndpoint: current.tokenEndpoint };
        tokens = { ...current, ...(await refreshTokens(proxyUrl, refreshToken, dpopOptions)) };
        render();
      }, showError),
    );
  } else {
    actions.append(element('span', 'The tokens were in the page\'s memory: sign in again to refresh them. ', { class: 'muted' }));
  }
  actions.append(button('Log out', logout, showError, true));
  app.append(actions);
  if (current !== undefined) app.append(element('p', `Access token now: ${shorten(current.access_token)}`, { 'data-access-token': shorten(current.access_token) }));
  app.append(element('h3', 'What happened'), flowList(), element('h3', 'The ID token\'s claims'));
  app.append(claimsTable(claims));
}

/** A callback this tab did not start (the startup banner's curl /par): its code, for the banner's /token command. */
function showForeignCode(code: string): void {
  app.append(
    element('p', 'No login of this tab was in progress: was it started with curl? Redeem this code with the /token command npm start printed, within a minute:'),
    element('pre', code, { 'data-foreign-code': '' }),
  );
}

if (window.location.pathname === '/callback') {
  const query = new URLSearchParams(window.location.search);
  const code = query.get('code');
  recordStep({
    id: 'callback',
    title: '4. The callback: GET /callback?code=…&state=…&iss=…',
    note: 'The authorization server sent the browser back with a one-time code. This page checks iss (RFC 9207) and state before it asks the proxy to redeem the code.',
    data: Object.fromEntries([...query].map(([name, value]) => [name, name === 'code' ? shorten(value) : value])),
  });
  try {
    tokens = await completeLogin();
    // The demo keeps only the claims, to show them; the tokens stay in this page's memory.
    sessionStorage.setItem(CLAIMS_KEY, JSON.stringify(tokens.claims ?? {}));
    sessionStorage.setItem(TOKEN_TYPE_KEY, tokens.token_type);
    sessionStorage.setItem(CLIENT_ID_KEY, String(tokens.claims?.aud ?? ''));
  } catch (error) {
    window.history.replaceState(null, '', '/');
    render();
    showError(error);
    if (error instanceof LoginError && error.error === 'login_required' && code !== null) showForeignCode(code);
    throw error;
  }
  window.history.replaceState(null, '', '/');
}
render();
