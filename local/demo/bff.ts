import { BffError, createBffClient, LoginRequiredError, readCallbackError, type BffSession } from '../../client/bff.ts';

/**
 * The bff demo SPA: "Sign in", the session's claims, "Call the API" through the proxy, and logout.
 * It holds no token: the proxy keeps them in its HttpOnly session cookie.
 */
const app = document.getElementById('app')!;
const basePath = document.querySelector<HTMLMetaElement>('meta[name="bff-base-path"]')?.content ?? '';
const bff = createBffClient({ basePath });

/** Claims that are times (seconds since the epoch), shown readable. */
const TIME_CLAIMS = new Set(['exp', 'iat', 'auth_time', 'nbf', 'updated_at']);

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, attributes: Record<string, string> = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

const readableTime = (seconds: number) => new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

function showError(error: unknown): void {
  // Text only: a callback error's description is whatever the link said.
  const message = error instanceof BffError ? `${error.error}: ${error.description}` : String(error);
  app.prepend(element('p', message, { class: 'error', role: 'alert' }));
}

function button(text: string, onClick: (self: HTMLButtonElement) => Promise<unknown>, secondary = false): HTMLButtonElement {
  const node = element('button', text, { type: 'button', ...(secondary ? { class: 'secondary' } : {}) });
  node.addEventListener('click', () => {
    node.disabled = true;
    onClick(node)
      .catch(showError)
      .finally(() => (node.disabled = false));
  });
  return node;
}

function claimsTable(claims: Readonly<Record<string, unknown>>): HTMLTableElement {
  const table = element('table', undefined, { 'aria-label': 'ID token claims' });
  for (const [name, value] of Object.entries(claims)) {
    const time = TIME_CLAIMS.has(name) && typeof value === 'number';
    const text = time ? readableTime(value) : typeof value === 'string' ? value : JSON.stringify(value);
    const row = element('tr');
    row.append(element('th', name), element('td', text, { 'data-claim': name, ...(time ? { 'data-value': String(value) } : {}) }));
    table.append(row);
  }
  return table;
}

async function callApi(output: HTMLPreElement): Promise<void> {
  try {
    const response = await bff.callApi('demo', 'me');
    const text = await response.text();
    let shown = text;
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON: shown as it came.
    }
    output.textContent = `HTTP ${response.status}\n${shown}`;
  } catch (error) {
    if (!(error instanceof LoginRequiredError)) throw error;
    render({ authenticated: false });
    showError(error);
  }
}

function render(session: BffSession): void {
  app.replaceChildren();
  if (!session.authenticated) {
    const { pathname, search } = window.location;
    app.append(
      button('Sign in', () => bff.startLogin({ scope: 'openid profile email offline_access', returnTo: `${pathname}${search}` })),
    );
    return;
  }
  const { claims } = session;
  const output = element('pre', undefined, { 'data-api-answer': '' });
  app.append(
    element('h2', `Signed in as ${String(claims.name ?? claims.sub)}`),
    element('p', `Session until ${readableTime(session.expiresAt)}`, { class: 'muted' }),
    claimsTable(claims),
    button('Call the API', () => callApi(output)),
    button('Log out', async () => {
      // Navigates to the authorization server's logout when there is one; it comes back here.
      await bff.logout();
      render({ authenticated: false });
    }, true),
    output,
  );
}

const callbackError = readCallbackError();
try {
  render(await bff.getSession());
} catch (error) {
  render({ authenticated: false });
  showError(error);
}
if (callbackError !== undefined) showError(callbackError);
