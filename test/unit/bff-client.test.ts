import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BffError, createBffClient, LoginRequiredError, readCallbackError } from '../../client/bff.ts';

/**
 * The SPA side of the bff mode (client/bff.ts) with Node's fetch, against a stand-in proxy on
 * 127.0.0.1 mounted under a BASE_PATH, which records what it receives. The fetch the client is
 * given records the options of every call (credentials and cache do not show on the wire).
 */
interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}
interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

const BASE_PATH = '/bff';
const ISSUER = 'https://as.example';
const AUTHORIZATION_URL = 'https://as.example/authorize?client_id=c1&request_uri=urn:r';

const received: Received[] = [];
let answers: Record<string, () => Answer>;
let server: http.Server;
let proxyUrl = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ method: req.method ?? '', path, headers: req.headers, body });
      const route = Object.keys(answers).find((prefix) => path.startsWith(prefix));
      const answer = route === undefined ? { status: 404, body: { error: 'not_found' } } : answers[route]!();
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let navigations: string[];
let fetchOptions: RequestInit[];
beforeEach(() => {
  received.length = 0;
  navigations = [];
  fetchOptions = [];
  answers = {
    [`${BASE_PATH}/par`]: () => ({
      status: 201,
      body: { request_uri: 'urn:r', expires_in: 60, authorization_url: AUTHORIZATION_URL, issuer: ISSUER },
    }),
    [`${BASE_PATH}/session`]: () => ({ status: 200, body: { authenticated: false } }),
    [`${BASE_PATH}/logout`]: () => ({ status: 200, body: { logout_url: null } }),
    [`${BASE_PATH}/api/`]: () => ({ status: 200, body: { sub: 'u1' } }),
  };
});

function client() {
  return createBffClient({
    proxyUrl,
    basePath: BASE_PATH,
    navigate: (url) => navigations.push(url),
    fetch: (input, init) => {
      fetchOptions.push(init ?? {});
      return fetch(input, init);
    },
  });
}

async function refusal(promise: Promise<unknown>): Promise<BffError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(BffError);
  return error as BffError;
}

const paths = () => received.map((r) => `${r.method} ${r.path}`);

describe('every call to the proxy', () => {
  it('carries X-CSRF: 1, the cookies (credentials include) and is never cached (RFC 10017 6.1: CSRF defence)', async () => {
    const bff = client();
    await bff.startLogin();
    await bff.getSession();
    await bff.callApi('demo', 'me', { headers: { 'x-csrf': '0', accept: 'application/json' } });
    await bff.logout();
    expect(paths()).toEqual([`POST ${BASE_PATH}/par`, `GET ${BASE_PATH}/session`, `GET ${BASE_PATH}/api/demo/me`, `POST ${BASE_PATH}/logout`]);
    for (const request of received) expect(request.headers['x-csrf']).toBe('1');
    expect(received[2]!.headers.accept).toBe('application/json');
    expect(fetchOptions).toHaveLength(4);
    for (const options of fetchOptions) expect(options).toMatchObject({ credentials: 'include', cache: 'no-store' });
  });

  it('works without a BASE_PATH, and with a trailing slash on either part', async () => {
    const bff = createBffClient({ proxyUrl: `${proxyUrl}/`, basePath: '/', fetch });
    answers['/session'] = () => ({ status: 200, body: { authenticated: false } });
    await bff.getSession();
    expect(paths()).toEqual(['GET /session']);
  });

  it.each(['bff', '/bff?x=1', '/bff#x', '//evil.example', '/b ff', '/bff/..'])('refuses a basePath of %j', (basePath) => {
    expect(() => createBffClient({ proxyUrl, basePath })).toThrow(TypeError);
  });
});

describe('startLogin', () => {
  it('sends only the intent: scope, return_to and the further fields; no redirect_uri, PKCE, state or nonce', async () => {
    await client().startLogin({ scope: 'openid profile', returnTo: '/orders?id=1', params: { prompt: 'login', max_age: 300 } });
    const [par] = received;
    expect(par!.headers['content-type']).toBe('application/json');
    // RFC 10017 6.1: the BFF is the OAuth client; it makes the verifier, state and nonce itself.
    expect(JSON.parse(par!.body)).toEqual({ scope: 'openid profile', return_to: '/orders?id=1', prompt: 'login', max_age: 300 });
    expect(navigations).toEqual([AUTHORIZATION_URL]);
  });

  it('asks for openid by default and sends no return_to unless given', async () => {
    await client().startLogin();
    expect(JSON.parse(received[0]!.body)).toEqual({ scope: 'openid' });
  });

  it('navigates to http only on localhost, and without issuer in the answer to any https URL', async () => {
    answers[`${BASE_PATH}/par`] = () => ({ status: 201, body: { authorization_url: 'http://localhost:3001/auth?request_uri=urn:r', issuer: 'http://localhost:3001' } });
    await client().startLogin();
    answers[`${BASE_PATH}/par`] = () => ({ status: 201, body: { authorization_url: AUTHORIZATION_URL } });
    await client().startLogin();
    expect(navigations).toEqual(['http://localhost:3001/auth?request_uri=urn:r', AUTHORIZATION_URL]);
  });

  it.each([
    ['a missing authorization_url', { authorization_url: undefined }, 'invalid_authorization_url'],
    ['one that is no URL', { authorization_url: 'not a url' }, 'invalid_authorization_url'],
    ['a javascript: URL', { authorization_url: 'javascript:alert(1)//as.example/' }, 'invalid_authorization_url'],
    ['http on a host other than localhost', { authorization_url: 'http://as.example/authorize?request_uri=urn:r' }, 'invalid_authorization_url'],
    ['a foreign origin', { authorization_url: 'https://evil.example/authorize?request_uri=urn:r' }, 'invalid_authorization_url'],
    ['a look-alike host', { authorization_url: 'https://as.example.evil.example/authorize?request_uri=urn:r' }, 'invalid_authorization_url'],
    ['another port of the issuer host', { authorization_url: 'https://as.example:8443/authorize?request_uri=urn:r' }, 'invalid_authorization_url'],
    ['an issuer that is no URL', { issuer: 'as.example' }, 'server_error'],
  ])('refuses %s and navigates nowhere', async (_name, change, error) => {
    const body = { request_uri: 'urn:r', authorization_url: AUTHORIZATION_URL, issuer: ISSUER, ...change };
    answers[`${BASE_PATH}/par`] = () => ({ status: 201, body });
    expect((await refusal(client().startLogin())).error).toBe(error);
    expect(navigations).toEqual([]);
  });

  it("passes on the proxy's refusal with its error code and status, and navigates nowhere", async () => {
    answers[`${BASE_PATH}/par`] = () => ({ status: 400, body: { error: 'invalid_request', error_description: 'state is made by the proxy' } });
    const error = await refusal(client().startLogin({ params: { state: 'x' } }));
    expect([error.error, error.description, error.status]).toEqual(['invalid_request', 'state is made by the proxy', 400]);
    answers[`${BASE_PATH}/par`] = () => ({ status: 502, body: '<html>Bad Gateway</html>' });
    expect(await refusal(client().startLogin())).toMatchObject({ error: 'server_error', description: 'HTTP 502', status: 502 });
    expect(navigations).toEqual([]);
  });
});

describe('getSession', () => {
  it('returns the claims and the session expiry when signed in', async () => {
    answers[`${BASE_PATH}/session`] = () => ({ status: 200, body: { authenticated: true, claims: { sub: 'u1', name: 'Ada' }, expires_at: 1_900_000_000 } });
    expect(await client().getSession()).toEqual({ authenticated: true, claims: { sub: 'u1', name: 'Ada' }, expiresAt: 1_900_000_000 });
  });

  it('returns authenticated false when signed out', async () => {
    expect(await client().getSession()).toEqual({ authenticated: false });
  });

  it.each([
    ['no authenticated field', {}],
    ['claims that are not an object', { authenticated: true, claims: 'u1', expires_at: 1 }],
    ['no expires_at', { authenticated: true, claims: { sub: 'u1' } }],
  ])('refuses an answer with %s', async (_name, body) => {
    answers[`${BASE_PATH}/session`] = () => ({ status: 200, body });
    expect((await refusal(client().getSession())).error).toBe('server_error');
  });

  it("passes on the proxy's refusal, e.g. a missing X-CSRF seen by a misconfigured front (403 access_denied)", async () => {
    answers[`${BASE_PATH}/session`] = () => ({ status: 403, body: { error: 'access_denied', error_description: 'X-CSRF: 1 is required' } });
    expect(await refusal(client().getSession())).toMatchObject({ error: 'access_denied', status: 403 });
  });
});

describe('callApi', () => {
  it('calls {base}/api/{name}/{path} with the method, body and query, and returns the API answer as it is', async () => {
    answers[`${BASE_PATH}/api/`] = () => ({ status: 409, body: { conflict: true } });
    const response = await client().callApi('demo', '/orders/7?expand=items', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 1 }),
    });
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ conflict: true });
    expect(received[0]).toMatchObject({ method: 'PUT', path: `${BASE_PATH}/api/demo/orders/7?expand=items`, body: '{"n":1}' });
  });

  it('turns the proxy\'s 401 {"error":"login_required"} into a LoginRequiredError, a BffError the SPA can branch on', async () => {
    answers[`${BASE_PATH}/api/`] = () => ({ status: 401, body: { error: 'login_required', error_description: 'no session' } });
    const error = await refusal(client().callApi('demo', 'me'));
    expect(error).toBeInstanceOf(LoginRequiredError);
    expect([error.error, error.status]).toEqual(['login_required', 401]);
  });

  it("returns an API's own 401 (RFC 6750 3: invalid_token) as a response, not as a login to start", async () => {
    answers[`${BASE_PATH}/api/`] = () => ({ status: 401, body: { error: 'invalid_token' }, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    const response = await client().callApi('demo', 'me');
    expect([response.status, response.headers.get('www-authenticate')]).toEqual([401, 'Bearer error="invalid_token"']);
    expect(await response.json()).toEqual({ error: 'invalid_token' });
  });

  it.each([
    ['a dot-dot segment', 'demo', '../../session'],
    ['an encoded dot-dot segment', 'demo', '%2e%2e/%2E%2E/logout'],
    ['backslashes', 'demo', '..\\..\\logout'],
    ['a name with a slash', 'demo/..', 'me'],
    ['an upper-case name', 'Demo', 'me'],
    ['an empty name', '', 'me'],
  ])('refuses %s before calling anything: the browser would resolve it to another route of the proxy', async (_name, name, path) => {
    expect((await refusal(client().callApi(name, path, { method: 'POST' }))).error).toBe('invalid_request');
    expect(received).toEqual([]);
  });
});

describe('logout', () => {
  it('navigates to the logout_url when the proxy answers one', async () => {
    const logoutUrl = 'https://as.example/session/end?client_id=c1&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2F';
    answers[`${BASE_PATH}/logout`] = () => ({ status: 200, body: { logout_url: logoutUrl } });
    await client().logout();
    expect(paths()).toEqual([`POST ${BASE_PATH}/logout`]);
    expect(navigations).toEqual([logoutUrl]);
  });

  it('resolves without navigating when logout_url is null', async () => {
    await client().logout();
    expect(navigations).toEqual([]);
  });

  it.each(['javascript:alert(1)', 'http://as.example/session/end', 42])('refuses a logout_url of %j and navigates nowhere', async (logoutUrl) => {
    answers[`${BASE_PATH}/logout`] = () => ({ status: 200, body: { logout_url: logoutUrl } });
    expect((await refusal(client().logout())).error).toBe('invalid_logout_url');
    expect(navigations).toEqual([]);
  });
});

describe('readCallbackError', () => {
  function history() {
    const replaced: string[] = [];
    return { replaced, state: { tab: 1 }, replaceState: (_state: unknown, _unused: string, url?: string | URL | null) => replaced.push(String(url)) };
  }

  it("reads the /callback's error and removes it from the address bar, keeping the rest of the URL", () => {
    const h = history();
    const url = new URL('https://app.example/orders?id=7&error=invalid_state&error_description=the+state+does+not+match#top');
    const error = readCallbackError(url, h);
    expect(error).toBeInstanceOf(BffError);
    expect([error?.error, error?.description]).toEqual(['invalid_state', 'the state does not match']);
    expect(h.replaced).toEqual(['https://app.example/orders?id=7#top']);
  });

  it('returns undefined and leaves the URL alone when there is no error', () => {
    const h = history();
    expect(readCallbackError(new URL('https://app.example/?code=no'), h)).toBeUndefined();
    expect(h.replaced).toEqual([]);
  });

  it('keeps only the RFC 6749 characters of what anyone can put in a link, at most 256 of them', () => {
    const h = history();
    const url = new URL('https://app.example/');
    url.searchParams.set('error', '"<script>');
    url.searchParams.set('error_description', `a\u0000\n"b\\${'x'.repeat(300)}`);
    const error = readCallbackError(url, h)!;
    expect(error.error).toBe('<script>');
    expect(error.description).toBe(`ab${'x'.repeat(254)}`);
    expect(h.replaced).toEqual(['https://app.example/']);
  });
});
