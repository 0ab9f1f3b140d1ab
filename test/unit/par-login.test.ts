import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { completeLogin, LoginError, refreshTokens, startLogin } from '../../client/par-login.ts';

/**
 * The SPA client (client/par-login.ts) with Node's WebCrypto and fetch, against a stand-in proxy on
 * 127.0.0.1 that records what it receives.
 */
class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

const ISSUER = 'https://as.example/';
const CLIENT_ID = 'spa-client-1';
const AUTHORIZATION_URL = 'https://as.example/authorize?client_id=spa-client-1&request_uri=urn:r';

const received: { path: string; body: Record<string, unknown> }[] = [];
/** What the stand-in /par answers with 201, and the claims of the ID token its /token issues. */
let parAnswer: () => Record<string, unknown>;
let idTokenClaims: (nonce: string) => Record<string, unknown>;
let lastNonce = '';
let server: http.Server;
let proxyUrl = '';

const now = () => Math.floor(Date.now() / 1000);
const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const goodClaims = (nonce: string) => ({ iss: ISSUER, aud: CLIENT_ID, exp: now() + 600, iat: now(), sub: 'u1', nonce });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      received.push({ path: req.url ?? '', body });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/par') {
        lastNonce = String(body.nonce);
        res.writeHead(201).end(JSON.stringify(parAnswer()));
      } else if (body.grant_type === 'refresh_token') {
        res.writeHead(200).end(JSON.stringify({ access_token: 'at-2', token_type: 'Bearer' }));
      } else if (body.code === 'refused') {
        res.writeHead(400).end(JSON.stringify({ error: 'invalid_grant', error_description: 'bad code' }));
      } else {
        res.writeHead(200).end(JSON.stringify({ access_token: 'at', token_type: 'Bearer', id_token: jwt(idTokenClaims(lastNonce)) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let storage: MemoryStorage;
let navigations: string[] = [];
beforeEach(() => {
  storage = new MemoryStorage();
  received.length = 0;
  navigations = [];
  parAnswer = () => ({
    request_uri: 'urn:r',
    expires_in: 60,
    authorization_url: AUTHORIZATION_URL,
    issuer: ISSUER,
    authorization_response_iss_parameter_supported: true,
  });
  idTokenClaims = goodClaims;
});

const startOptions = () => ({
  proxyUrl,
  redirectUri: 'https://app.example/callback',
  scope: 'openid profile',
  storage,
  navigate: (url: string) => navigations.push(url),
});

/** A login started, and the authorization server's successful answer to it (RFC 6749 4.1.2, RFC 9207 2). */
async function start(): Promise<URL> {
  await startLogin(startOptions());
  const state = String(received.filter((r) => r.path === '/par').at(-1)!.body.state);
  const callback = new URL('https://app.example/callback?code=c1');
  callback.searchParams.set('state', state);
  callback.searchParams.set('iss', ISSUER);
  return callback;
}

async function refusal(promise: Promise<unknown>): Promise<LoginError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(LoginError);
  return error as LoginError;
}

const proxyPaths = () => received.map((r) => r.path);

describe('startLogin', () => {
  it('sends an S256 challenge of a fresh verifier, with state and nonce, and navigates to authorization_url', async () => {
    await start();
    const [{ path, body }] = received as [(typeof received)[0]];
    expect(path).toBe('/par');
    expect(body).toMatchObject({ redirect_uri: 'https://app.example/callback', scope: 'openid profile', code_challenge_method: 'S256' });
    const pending = JSON.parse(storage.getItem('par-proxy:login')!) as Record<string, string>;
    // RFC 7636 4.1: 43 characters of entropy; 4.2: the challenge is BASE64URL(SHA256(verifier)).
    expect(pending.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.code_challenge).toBe(createHash('sha256').update(pending.verifier!).digest('base64url'));
    expect(body.state).toBe(pending.state);
    expect(body.nonce).toBe(pending.nonce);
    expect(navigations).toEqual([AUTHORIZATION_URL]);
  });

  it('keeps what the callback is checked against: the issuer, the client_id of authorization_url, and whether iss is promised', async () => {
    await start();
    expect(JSON.parse(storage.getItem('par-proxy:login')!)).toMatchObject({
      issuer: ISSUER,
      clientId: CLIENT_ID,
      issParameterSupported: true,
    });
  });

  it('navigates to http only on localhost, on the issuer origin', async () => {
    parAnswer = () => ({ authorization_url: 'http://localhost:3001/auth?client_id=c&request_uri=urn:r', issuer: 'http://localhost:3001' });
    await startLogin(startOptions());
    expect(navigations).toEqual(['http://localhost:3001/auth?client_id=c&request_uri=urn:r']);
  });

  it.each([
    ['a missing authorization_url', { authorization_url: undefined }, 'invalid_authorization_url'],
    ['one that is no URL', { authorization_url: 'not a url' }, 'invalid_authorization_url'],
    ['a javascript: URL', { authorization_url: 'javascript:alert(1)//as.example/' }, 'invalid_authorization_url'],
    ['http on a host other than localhost', { authorization_url: 'http://as.example/authorize?client_id=c&request_uri=urn:r' }, 'invalid_authorization_url'],
    ['a foreign origin', { authorization_url: 'https://evil.example/authorize?client_id=c&request_uri=urn:r' }, 'invalid_authorization_url'],
    ['a look-alike host', { authorization_url: 'https://as.example.evil.example/authorize?client_id=c&request_uri=urn:r' }, 'invalid_authorization_url'],
    ['another port of the issuer host', { authorization_url: 'https://as.example:8443/authorize?client_id=c&request_uri=urn:r' }, 'invalid_authorization_url'],
    ['no client_id in it', { authorization_url: 'https://as.example/authorize?request_uri=urn:r' }, 'invalid_authorization_url'],
    ['a missing issuer', { issuer: undefined }, 'server_error'],
    ['an issuer that is no URL', { issuer: 'as.example' }, 'server_error'],
  ])('refuses %s with a LoginError, navigates nowhere and keeps no login', async (_name, change, error) => {
    const answer = { ...parAnswer(), ...change };
    parAnswer = () => answer;
    expect((await refusal(startLogin(startOptions()))).error).toBe(error);
    expect(navigations).toEqual([]);
    expect(storage.getItem('par-proxy:login')).toBeNull();
  });

  it('forgets an earlier login of this tab when a new one fails to start', async () => {
    await start();
    parAnswer = () => ({});
    await refusal(startLogin(startOptions()));
    expect(storage.getItem('par-proxy:login')).toBeNull();
  });
});

describe('completeLogin: the authorization response', () => {
  it('redeems the code with the verifier and returns the tokens and the ID token claims', async () => {
    const callback = await start();
    const pending = JSON.parse(storage.getItem('par-proxy:login')!) as Record<string, string>;
    const tokens = await completeLogin({ url: callback.href, storage });
    expect(tokens.claims).toMatchObject({ iss: ISSUER, aud: CLIENT_ID, sub: 'u1', nonce: pending.nonce });
    expect(received[1]).toEqual({
      path: '/token',
      body: { grant_type: 'authorization_code', code: 'c1', code_verifier: pending.verifier, redirect_uri: 'https://app.example/callback' },
    });
  });

  it('refuses a callback whose state this tab did not send, without calling /token (login CSRF, RFC 9700 4.7)', async () => {
    const callback = await start();
    callback.searchParams.set('state', 'attacker');
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('invalid_state');
    expect(proxyPaths()).toEqual(['/par']);
  });

  it.each([
    ['another server', 'https://attacker.example/'],
    ['the issuer without its trailing slash (simple string comparison)', 'https://as.example'],
    ['the issuer in other case', 'https://AS.example/'],
  ])('refuses an iss of %s, a mix-up, and redeems nothing (RFC 9207 2.4)', async (_name, iss) => {
    const callback = await start();
    callback.searchParams.set('iss', iss);
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('invalid_issuer');
    expect(proxyPaths()).toEqual(['/par']);
  });

  it('refuses a response without iss when the server advertises authorization_response_iss_parameter_supported (RFC 9207 2.4)', async () => {
    const callback = await start();
    callback.searchParams.delete('iss');
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('invalid_issuer');
    expect(proxyPaths()).toEqual(['/par']);
  });

  it('accepts a response without iss from a server that does not advertise it, but checks one that is there (RFC 9207 2.4)', async () => {
    parAnswer = () => ({ authorization_url: AUTHORIZATION_URL, issuer: ISSUER, authorization_response_iss_parameter_supported: false });
    let callback = await start();
    callback.searchParams.delete('iss');
    expect((await completeLogin({ url: callback.href, storage })).access_token).toBe('at');
    callback = await start();
    callback.searchParams.set('iss', 'https://attacker.example/');
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('invalid_issuer');
    expect(proxyPaths()).toEqual(['/par', '/token', '/par']);
  });

  it("reports an error response without state as the server's error, redeeming nothing (oidc-provider's invalid_request_uri)", async () => {
    await start();
    const callback = new URL('https://app.example/callback');
    callback.searchParams.set('error', 'invalid_request_uri');
    callback.searchParams.set('error_description', 'request_uri is invalid, expired, or was already used');
    callback.searchParams.set('iss', ISSUER);
    const error = await refusal(completeLogin({ url: callback.href, storage }));
    expect([error.error, error.description]).toEqual(['invalid_request_uri', 'request_uri is invalid, expired, or was already used']);
    expect(proxyPaths()).toEqual(['/par']);
    // Either way the login is over.
    expect(storage.getItem('par-proxy:login')).toBeNull();
  });

  it('checks iss on error responses too (RFC 9207 2.4), and state when an error response has one', async () => {
    let callback = await start();
    callback.searchParams.delete('code');
    callback.searchParams.set('error', 'access_denied');
    callback.searchParams.set('iss', 'https://attacker.example/');
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('invalid_issuer');
    callback = await start();
    callback.searchParams.delete('code');
    callback.searchParams.set('error', 'access_denied');
    callback.searchParams.set('state', 'attacker');
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('invalid_state');
    expect(proxyPaths()).toEqual(['/par', '/par']);
  });

  it('works once: a replayed callback finds no login in progress', async () => {
    const callback = await start();
    await completeLogin({ url: callback.href, storage });
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('login_required');
  });

  it('passes on the authorization server error of the callback, and the proxy error of /token', async () => {
    let callback = await start();
    callback.searchParams.delete('code');
    callback.searchParams.set('error', 'access_denied');
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('access_denied');
    callback = await start();
    callback.searchParams.set('code', 'refused');
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('invalid_grant');
  });
});

describe('completeLogin: the ID token claims (OpenID Connect Core 3.1.3.7)', () => {
  it.each([
    ['nonce', 'is not this login (step 11)', (c: Record<string, unknown>) => ({ ...c, nonce: 'replayed-nonce' }), 'invalid_nonce'],
    ['nonce', 'is missing (step 11)', (c: Record<string, unknown>) => ({ ...c, nonce: undefined }), 'invalid_nonce'],
    ['iss', 'is another server (step 2)', (c: Record<string, unknown>) => ({ ...c, iss: 'https://attacker.example/' }), 'invalid_id_token'],
    ['iss', 'is missing (step 2)', (c: Record<string, unknown>) => ({ ...c, iss: undefined }), 'invalid_id_token'],
    ['aud', 'is another client (step 3)', (c: Record<string, unknown>) => ({ ...c, aud: 'other-client' }), 'invalid_id_token'],
    ['aud', 'lists an audience not trusted besides this client (step 3)', (c: Record<string, unknown>) => ({ ...c, aud: [CLIENT_ID, 'other-client'] }), 'invalid_id_token'],
    ['aud', 'is missing (step 3)', (c: Record<string, unknown>) => ({ ...c, aud: undefined }), 'invalid_id_token'],
    ['azp', 'is another client (step 5)', (c: Record<string, unknown>) => ({ ...c, azp: 'other-client' }), 'invalid_id_token'],
    ['exp', 'passed more than the 60 s leeway ago (step 9)', (c: Record<string, unknown>) => ({ ...c, exp: now() - 120 }), 'invalid_id_token'],
    ['exp', 'is missing (step 9)', (c: Record<string, unknown>) => ({ ...c, exp: undefined }), 'invalid_id_token'],
    ['exp', 'is not a number (step 9)', (c: Record<string, unknown>) => ({ ...c, exp: String(now() + 600) }), 'invalid_id_token'],
  ])('refuses an ID token whose %s %s', async (claim, _what, change, error) => {
    idTokenClaims = (nonce) => change(goodClaims(nonce));
    const callback = await start();
    const refused = await refusal(completeLogin({ url: callback.href, storage }));
    expect(refused.error).toBe(error);
    expect(refused.description).toContain(claim);
  });

  it('accepts aud as an array of only this client, and an exp within the 60 s leeway (step 9: clock skew)', async () => {
    idTokenClaims = (nonce) => ({ ...goodClaims(nonce), aud: [CLIENT_ID], azp: CLIENT_ID, exp: now() - 30 });
    const callback = await start();
    expect((await completeLogin({ url: callback.href, storage })).claims).toMatchObject({ aud: [CLIENT_ID] });
  });
});

describe('refreshTokens', () => {
  it('refreshes through the proxy', async () => {
    expect(await refreshTokens(`${proxyUrl}/`, 'rt')).toEqual({ access_token: 'at-2', token_type: 'Bearer' });
    expect(received[0]).toEqual({ path: '/token', body: { grant_type: 'refresh_token', refresh_token: 'rt' } });
  });
});
