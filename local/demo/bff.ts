import { BffError, createBffClient, LoginRequiredError, readCallbackError, type BffSession } from '../../client/bff.ts';
import { button, claimsTable, clearFlow, element, flowList, readableTime, readFlow, recordPush, recordStep, tokenRequests } from './flow.ts';

/**
 * The bff demo SPA: "Sign in", then the login step by step, the session, "Call the API" through
 * the proxy (again, to see a refresh), and a real logout. It holds no token: the proxy keeps them
 * in its HttpOnly session cookie.
 */
const app = document.getElementById('app')!;
const basePath = document.querySelector<HTMLMetaElement>('meta[name="bff-base-path"]')?.content ?? '';

/** The SPA's own calls, recorded for the flow as they happen: /par's intent and answer, /session's answer. */
const recordingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const path = new URL(String(input), window.location.href).pathname;
  if (path === `${basePath}/par` && init?.method === 'POST') {
    await recordPush(
      'What this page sends: unsigned, no redirect_uri, PKCE, state or nonce. The proxy makes those and keeps them in a sealed HttpOnly login cookie.',
      JSON.parse(String(init.body)),
      response,
    );
  }
  if (path === `${basePath}/session`) {
    recordStep({
      id: 'session',
      title: '5. The session: GET /session',
      note: 'The ID token\'s claims the proxy verified, and when the session ends; never a token. The tokens are in the HttpOnly cookie, sealed.',
      data: await response.clone().json().catch(() => undefined),
    });
  }
  return response;
};
const bff = createBffClient({ basePath, fetch: recordingFetch });

function showError(error: unknown): void {
  // Text only: a callback error's description is whatever the link said.
  const message = error instanceof BffError ? `${error.error}: ${error.description}` : String(error);
  app.prepend(element('p', message, { class: 'error', role: 'alert' }));
}

let apiCalls = 0;

async function callApi(output: HTMLPreElement, flow: HTMLElement): Promise<void> {
  try {
    const response = await bff.callApi('demo', 'me');
    const text = await response.text();
    let shown: unknown = text;
    try {
      shown = JSON.parse(text) as unknown;
    } catch {
      // Not JSON: shown as it came.
    }
    apiCalls += 1;
    output.textContent = `HTTP ${response.status}\n${typeof shown === 'string' ? shown : JSON.stringify(shown, null, 2)}`;
    recordStep({
      id: 'api',
      title: `6. An API call through the proxy: GET ${basePath}/api/demo/me (call ${apiCalls})`,
      note: 'The proxy added the access token from the session cookie and forwarded the call to the local API, which asked the authorization server whose token it is. When the access token has under 30 s left, the proxy refreshes it first (RFC 6749 6): the token endpoint below then shows a refresh_token grant.',
      data: { status: response.status, body: shown },
    });
    recordStep({
      id: 'token-endpoint',
      title: '7. What the token endpoint saw (local stack only)',
      note: 'authorization_code: the proxy redeemed the code at its /callback. refresh_token: a refresh on an API call. Call the API again after the access token\'s first half-life to see one.',
      data: await tokenRequests(),
    });
    flow.replaceWith(flowList());
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
      button('Sign in', () => {
        clearFlow();
        return bff.startLogin({ scope: 'openid profile email offline_access', returnTo: `${pathname}${search}` });
      }, showError),
    );
    return;
  }
  const { claims } = session;
  const output = element('pre', undefined, { 'data-api-answer': '' });
  const flow = flowList();
  app.append(
    element('h2', `Signed in as ${String(claims.name ?? claims.sub)}`),
    element('p', `Session until ${readableTime(session.expiresAt)}`, { class: 'muted' }),
    element('p', undefined, { class: 'actions' }),
    output,
    element('h3', 'What happened'),
    flow,
    element('h3', 'The ID token\'s claims'),
    claimsTable(claims),
  );
  app.querySelector('.actions')!.append(
    button('Call the API', () => callApi(output, app.querySelector('ol.flow')!), showError),
    button('Log out', async () => {
      // Navigates to the authorization server's logout when there is one; it comes back here.
      clearFlow();
      await bff.logout();
      render({ authenticated: false });
    }, showError, true),
  );
}

/** Back from the proxy's /callback with a login in the flow: the callback's step, told from this side. */
async function recordCallback(): Promise<void> {
  const steps = readFlow();
  if (!steps.some((step) => step.id === 'pushed') || steps.some((step) => step.id === 'callback')) return;
  recordStep({
    id: 'callback',
    title: '4. The callback: GET /callback?code=…&state=…&iss=…',
    note: 'After the login, the authorization server sent the browser to the proxy\'s /callback. The proxy checked state and iss (RFC 9207), redeemed the code with the PKCE verifier and the client\'s credentials, verified the ID token, set the session cookie and sent the browser back here. The code never reached this page\'s script.',
    data: { token_endpoint: await tokenRequests() },
  });
}

const callbackError = readCallbackError();
try {
  const session = await bff.getSession();
  if (session.authenticated) await recordCallback();
  render(session);
} catch (error) {
  render({ authenticated: false });
  showError(error);
}
if (callbackError !== undefined) showError(callbackError);
