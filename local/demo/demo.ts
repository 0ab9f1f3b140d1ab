import { completeLogin, LoginError, startLogin } from '../../client/par-login.ts';

/** The demo SPA: a "Sign in" button, the callback, the ID token's claims, and logout. */
const app = document.getElementById('app')!;
const CLAIMS_KEY = 'demo:claims';
const TOKEN_TYPE_KEY = 'demo:token-type';
const proxyUrl = window.location.origin;
/** The local stack says whether the proxy runs with DPOP=true: then the tokens are bound to this origin's key. */
const dpop = document.querySelector('meta[name="par-dpop"]')?.getAttribute('content') === 'true';

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, attributes: Record<string, string> = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function showError(error: unknown): void {
  const message = error instanceof LoginError ? `${error.error}: ${error.description}` : String(error);
  app.prepend(element('p', message, { class: 'error', role: 'alert' }));
}

function render(): void {
  app.replaceChildren();
  const stored = sessionStorage.getItem(CLAIMS_KEY);
  if (stored === null) {
    const button = element('button', 'Sign in', { type: 'button' });
    button.addEventListener('click', () => {
      button.disabled = true;
      startLogin({ proxyUrl, redirectUri: `${proxyUrl}/callback`, scope: 'openid profile email', dpop }).catch((error) => {
        button.disabled = false;
        showError(error);
      });
    });
    app.append(button);
    return;
  }
  const claims = JSON.parse(stored) as Record<string, unknown>;
  app.append(element('h2', `Signed in as ${String(claims.name ?? claims.sub)}`));
  app.append(element('p', `Access token type: ${sessionStorage.getItem(TOKEN_TYPE_KEY) ?? ''}`, { 'data-token-type': sessionStorage.getItem(TOKEN_TYPE_KEY) ?? '' }));
  const table = element('table', undefined, { 'aria-label': 'ID token claims' });
  for (const [name, value] of Object.entries(claims)) {
    const row = element('tr');
    row.append(element('th', name), element('td', typeof value === 'string' ? value : JSON.stringify(value), { 'data-claim': name }));
    table.append(row);
  }
  const logout = element('button', 'Log out', { type: 'button', class: 'secondary' });
  logout.addEventListener('click', () => {
    sessionStorage.removeItem(CLAIMS_KEY);
    sessionStorage.removeItem(TOKEN_TYPE_KEY);
    render();
  });
  app.append(table, logout);
}

if (window.location.pathname === '/callback') {
  try {
    const tokens = await completeLogin();
    // The demo keeps only the claims, to show them; tokens stay in memory and are dropped here.
    sessionStorage.setItem(CLAIMS_KEY, JSON.stringify(tokens.claims ?? {}));
    sessionStorage.setItem(TOKEN_TYPE_KEY, tokens.token_type);
  } catch (error) {
    window.history.replaceState(null, '', '/');
    render();
    showError(error);
    throw error;
  }
  window.history.replaceState(null, '', '/');
}
render();
