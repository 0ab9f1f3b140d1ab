import { beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { BffBrowser } from '../helpers/bff-browser.ts';
import { watchedStack } from '../helpers/watched-stack.ts';

/**
 * The bff mode (RFC 10017 6.1) end to end: the bff function as the local stack serves it, built from
 * its environment exactly as in Lambda, against the real oidc-provider (PAR, signed request objects
 * and PKCE required, revocation and end-session on) and a resource server that validates the access
 * token at the provider's userinfo endpoint. The browser is a cookie jar (test/helpers/bff-browser.ts);
 * the Chromium test checks what a real browser stores.
 */
const watched = watchedStack({ mode: 'bff' });
const { leaks } = watched;
let stack: LocalStack;
beforeAll(() => {
  stack = watched.current();
});

const { browser } = watched;

/** A browser that has signed in, and what the callback answered. */
async function signedIn(intent?: Record<string, unknown>) {
  const b = browser();
  const callback = await b.login(intent);
  return { b, callback };
}

describe('login (RFC 10017 6.1.3.1-2)', () => {
  it('POST /par: 201 with the authorization_url, and a sealed __Host- login cookie that is HttpOnly, Secure, Lax, Path=/, Max-Age <= 600', async () => {
    const b = browser();
    const started = await b.startLogin();
    expect(started.status).toBe(201);
    expect(Object.keys(started.json ?? {}).sort()).toEqual(
      ['authorization_response_iss_parameter_supported', 'authorization_url', 'expires_in', 'issuer', 'request_uri'],
    );
    expect(new URL(String(started.json?.authorization_url)).origin).toBe(new URL(stack.issuer).origin);
    const logins = [...b.cookies.values()].filter((cookie) => cookie.name.startsWith('__Host-bff-login.'));
    expect(logins).toHaveLength(1);
    const { attributes } = logins[0]!;
    expect(attributes).toMatchObject({ httponly: '', secure: '', samesite: 'Lax', path: '/' });
    expect(attributes.domain).toBeUndefined();
    expect(Number(attributes['max-age'])).toBeGreaterThan(0);
    expect(Number(attributes['max-age'])).toBeLessThanOrEqual(600);
    // The verifier, state and nonce are sealed: nothing in the value reads as them.
    expect(logins[0]!.value.split('.')).toHaveLength(5);
  });

  it('GET /callback: 303 to APP_URL + return_to, no-store, a __Host- session cookie (HttpOnly, Secure, Strict, Path=/, no Domain), the login cookie cleared', async () => {
    const { b, callback } = await signedIn({ scope: 'openid profile', return_to: '/orders?x=1' });
    expect(callback.headers.get('location')).toBe(`${stack.proxyUrl}/orders?x=1`);
    expect(callback.headers.get('cache-control')).toBe('no-store');
    expect(callback.headers.get('location')).not.toMatch(/code=|token/);
    const names = [...b.cookies.keys()];
    expect(names).toEqual(['__Host-bff-session']);
    expect(b.cookies.get('__Host-bff-session')!.attributes).toMatchObject({ httponly: '', secure: '', samesite: 'Strict', path: '/' });
    expect(b.cookies.get('__Host-bff-session')!.attributes.domain).toBeUndefined();
  });

  it('GET /session: the ID token\'s claims and expires_at, never a token; anonymous is authenticated: false', async () => {
    const { b } = await signedIn();
    const session = await b.request('/session');
    expect(session.status).toBe(200);
    expect(session.headers.get('cache-control')).toBe('no-store');
    expect(session.json).toMatchObject({ authenticated: true, claims: { sub: 'katherine.johnson', iss: stack.issuer } });
    expect(Number(session.json?.expires_at)).toBeGreaterThan(Date.now() / 1000);
    expect(session.text).not.toMatch(/access_token|refresh_token|id_token|nonce/);
    expect((await browser().request('/session')).json).toEqual({ authenticated: false });
  });

  it('two tabs logging in at once both complete (one login cookie each)', async () => {
    const b = browser();
    const first = await b.startLogin();
    const second = await b.startLogin();
    const firstCallback = await b.authorize(String(first.json?.authorization_url));
    const secondCallback = await b.authorize(String(second.json?.authorization_url));
    expect((await b.callback(secondCallback)).headers.get('location')).toBe(`${stack.proxyUrl}/`);
    expect((await b.callback(firstCallback)).headers.get('location')).toBe(`${stack.proxyUrl}/`);
    expect((await b.request('/session')).json?.authenticated).toBe(true);
  });

  it('keeps at most four login cookies however many logins are started', async () => {
    const b = browser();
    for (let i = 0; i < 7; i += 1) expect((await b.startLogin()).status).toBe(201);
    expect([...b.cookies.keys()].filter((name) => name.startsWith('__Host-bff-login.')).length).toBeLessThanOrEqual(4);
  });
});

describe('the callback refuses what this browser did not start (RFC 9700 4.5, 4.7; RFC 9207)', () => {
  it('a callback carried to another browser (login CSRF, code injection): login_required, no session', async () => {
    const victim = browser();
    const attacker = browser();
    const started = await attacker.startLogin();
    const callbackUrl = await attacker.authorize(String(started.json?.authorization_url));
    const answer = await victim.callback(callbackUrl);
    expect(answer.status).toBe(303);
    const location = new URL(String(answer.headers.get('location')));
    expect(location.origin + location.pathname).toBe(`${stack.proxyUrl}/`);
    expect(location.searchParams.get('error')).toBe('login_required');
    expect(location.search).not.toContain(callbackUrl.searchParams.get('code')!);
    expect(victim.cookies.size).toBe(0);
    expect((await victim.request('/session')).json).toEqual({ authenticated: false });
  });

  it('a replayed callback: the login cookie is spent, the session is not replaced', async () => {
    const b = browser();
    const started = await b.startLogin();
    const callbackUrl = await b.authorize(String(started.json?.authorization_url));
    await b.callback(callbackUrl);
    const session = b.cookies.get('__Host-bff-session')!.value;
    const again = await b.callback(callbackUrl);
    expect(new URL(String(again.headers.get('location'))).searchParams.get('error')).toBe('login_required');
    expect(b.cookies.get('__Host-bff-session')?.value).toBe(session);
  });

  it('a state that is not this login\'s: invalid_state; an iss of another server: invalid_issuer (mix-up)', async () => {
    const b = browser();
    const started = await b.startLogin();
    const callbackUrl = await b.authorize(String(started.json?.authorization_url));
    const tampered = new URL(callbackUrl);
    tampered.searchParams.set('state', `${callbackUrl.searchParams.get('state')!.slice(0, 16)}${'A'.repeat(27)}`);
    expect(new URL(String((await b.callback(tampered)).headers.get('location'))).searchParams.get('error')).toBe('invalid_state');

    const other = browser();
    const started2 = await other.startLogin();
    const mixedUp = await other.authorize(String(started2.json?.authorization_url));
    mixedUp.searchParams.set('iss', 'https://evil.example');
    const answer = await other.callback(mixedUp);
    expect(new URL(String(answer.headers.get('location'))).searchParams.get('error')).toBe('invalid_issuer');
    expect(other.cookies.has('__Host-bff-session')).toBe(false);
  });
});

describe('CSRF and Origin (RFC 10017 6.1.3.3)', () => {
  it.each([
    ['POST', '/par'],
    ['GET', '/session'],
    ['POST', '/logout'],
    ['GET', '/api/demo/me'],
  ])('%s %s without X-CSRF: 1 is 403 access_denied', async (method, path) => {
    const { b } = await signedIn();
    const answer = await b.request(path, { method, js: false, headers: { origin: stack.proxyUrl }, ...(method === 'POST' && path === '/par' ? { body: '{}' } : {}) });
    expect(answer.status).toBe(403);
    expect(answer.json?.error).toBe('access_denied');
  });

  it('another Origin gets 403 and no CORS headers, even with X-CSRF', async () => {
    const { b } = await signedIn();
    const answer = await b.request('/session', { headers: { origin: 'https://evil.example' } });
    expect(answer.status).toBe(403);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
  });

  it.each(['redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'nonce', 'dpop_jkt', 'response_mode'])(
    'an intent carrying %s is refused, naming it: the proxy makes it',
    async (field) => {
      const answer = await browser().startLogin({ scope: 'openid', [field]: 'x' });
      expect(answer.status).toBe(400);
      expect(answer.json?.error_description).toContain(field);
    },
  );

  it.each(['//evil.example/', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)'])('return_to %s is refused', async (returnTo) => {
    const answer = await browser().startLogin({ scope: 'openid', return_to: returnTo });
    expect(answer.status).toBe(400);
    expect(answer.json?.error_description).toContain('return_to');
  });
});

describe('the API proxy (RFC 10017 6.1.3.4)', () => {
  it('forwards with the access token and only allow-listed headers; the upstream\'s Set-Cookie never comes back', async () => {
    const { b } = await signedIn();
    stack.resourceServer.reset();
    stack.resourceServer.misbehave({ setCookie: 'tracker=1; Path=/' });
    const answer = await b.request('/api/demo/me', { headers: { authorization: 'Bearer forged', 'x-forwarded-for': '1.2.3.4' } });
    stack.resourceServer.misbehave(undefined);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ sub: 'katherine.johnson' });
    expect(answer.setCookies.filter((line) => line.startsWith('tracker'))).toEqual([]);
    const received = stack.resourceServer.requests.at(-1)!;
    expect(received.headers.authorization).toMatch(/^Bearer (?!forged)/);
    for (const header of ['cookie', 'x-csrf', 'x-forwarded-for', 'origin']) expect(received.headers[header]).toBeUndefined();
  });

  it('no session: 401 {"error":"login_required"} as JSON, never a redirect', async () => {
    const answer = await browser().request('/api/demo/me');
    expect(answer.status).toBe(401);
    expect(answer.json?.error).toBe('login_required');
    expect(answer.headers.get('location')).toBeNull();
  });

  it.each(['/api/demo/../../logout', '/api/demo/%2e%2e/x', '/api/demo/.%2E/x', '/api/demo/./me', '/api/demo//x', '/api/demo/a%2fb', '/api/demo/a%5cb'])('%s (sent as is) is refused with 400', async (path) => {
    const { b } = await signedIn();
    const answer = await b.rawGet(path);
    expect(answer.status).toBe(400);
    expect(answer.json?.error).toBe('invalid_request');
  });

  it('a raw backslash in the path never reaches an API: Node\'s HTTP parser refuses it with 400 (RFC 9112 3.2)', async () => {
    const { b } = await signedIn();
    stack.resourceServer.reset();
    expect((await b.rawGet('/api/demo/a\\b')).status).toBe(400);
    expect(stack.resourceServer.requests).toEqual([]);
  });

  it('an unknown API is 404', async () => {
    const { b } = await signedIn();
    expect((await b.request('/api/nope/me')).status).toBe(404);
  });

  it('refreshes inline when the access token is about to expire, and ten concurrent calls all succeed', async () => {
    const short = await startLocalStack({ mode: 'bff', accessTokenTtl: 20 });
    try {
      const b = new BffBrowser(short.proxyUrl);
      await b.login({ scope: 'openid offline_access' });
      const before = b.cookies.get('__Host-bff-session')!.value;
      // expires_in 20 s is inside the 30 s refresh window: every call refreshes, none fails.
      const answers = await Promise.all(Array.from({ length: 10 }, () => b.request('/api/demo/me')));
      expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
      expect(answers.every((answer) => answer.setCookies.some((line) => line.startsWith('__Host-bff-session=')))).toBe(true);
      expect(b.cookies.get('__Host-bff-session')!.value).not.toBe(before);
      expect((await b.request('/api/demo/me')).status).toBe(200);
    } finally {
      await short.close();
    }
  });
});

describe('logout (RFC 7009, OpenID Connect RP-Initiated Logout 1.0)', () => {
  it('revokes the refresh token, clears the session cookies and answers the end-session URL without any token', async () => {
    const { b } = await signedIn({ scope: 'openid offline_access' });
    const answer = await b.request('/logout', { method: 'POST' });
    expect(answer.status).toBe(200);
    const logoutUrl = new URL(String(answer.json?.logout_url));
    expect(logoutUrl.origin).toBe(new URL(stack.issuer).origin);
    expect(logoutUrl.searchParams.get('client_id')).toBe(stack.clientId);
    expect(logoutUrl.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.proxyUrl}/`);
    expect(logoutUrl.search).not.toMatch(/token/);
    expect(b.cookies.size).toBe(0);
    expect((await b.request('/session')).json).toEqual({ authenticated: false });
  });
});

// The access tokens the API received: the proxy must not have logged them either.
watched.expectNoLeaks(21, () => {
  for (const request of stack.resourceServer.requests) leaks.secret(String(request.headers.authorization ?? '').replace(/^Bearer /, '') || undefined);
});

describe('back-channel logout with the cookie store', () => {
  it('POST /backchannel-logout: 400 naming the store it needs (no session to find in a cookie)', async () => {
    const answer = await fetch(`${stack.proxyUrl}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'logout_token=a.b.c',
      signal: AbortSignal.timeout(5000),
    });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('SESSION_STORE=dynamodb') });
  });
});
