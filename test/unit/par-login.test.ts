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

const received: { path: string; body: Record<string, unknown> }[] = [];
let idTokenNonce: (sent: string) => string = (sent) => sent;
let lastNonce = '';
let server: http.Server;
let proxyUrl = '';

const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

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
        res.writeHead(201).end(JSON.stringify({ request_uri: 'urn:r', expires_in: 60, authorization_url: 'https://as.example/authorize?request_uri=urn:r' }));
      } else if (body.grant_type === 'refresh_token') {
        res.writeHead(200).end(JSON.stringify({ access_token: 'at-2', token_type: 'Bearer' }));
      } else if (body.code === 'refused') {
        res.writeHead(400).end(JSON.stringify({ error: 'invalid_grant', error_description: 'bad code' }));
      } else {
        res.writeHead(200).end(JSON.stringify({ access_token: 'at', token_type: 'Bearer', id_token: jwt({ sub: 'u1', nonce: idTokenNonce(lastNonce) }) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let storage: MemoryStorage;
let navigatedTo = '';
beforeEach(() => {
  storage = new MemoryStorage();
  received.length = 0;
  idTokenNonce = (sent) => sent;
});

async function start(): Promise<URL> {
  await startLogin({ proxyUrl, redirectUri: 'https://app.example/callback', scope: 'openid profile', storage, navigate: (url) => (navigatedTo = url) });
  const state = String(received.filter((r) => r.path === '/par').at(-1)!.body.state);
  return new URL(`https://app.example/callback?code=c1&state=${encodeURIComponent(state)}`);
}

async function refusal(promise: Promise<unknown>): Promise<LoginError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(LoginError);
  return error as LoginError;
}

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
    expect(navigatedTo).toBe('https://as.example/authorize?request_uri=urn:r');
  });
});

describe('completeLogin', () => {
  it('redeems the code with the verifier and returns the tokens and the ID token claims', async () => {
    const callback = await start();
    const pending = JSON.parse(storage.getItem('par-proxy:login')!) as Record<string, string>;
    const tokens = await completeLogin({ url: callback.href, storage });
    expect(tokens.claims).toEqual({ sub: 'u1', nonce: pending.nonce });
    expect(received[1]).toEqual({
      path: '/token',
      body: { grant_type: 'authorization_code', code: 'c1', code_verifier: pending.verifier, redirect_uri: 'https://app.example/callback' },
    });
  });

  it('refuses a callback whose state this tab did not send, without calling /token (login CSRF, RFC 9700 4.7)', async () => {
    const callback = await start();
    callback.searchParams.set('state', 'attacker');
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('invalid_state');
    expect(received.map((r) => r.path)).toEqual(['/par']);
  });

  it('refuses an ID token whose nonce is not this login (OpenID Connect Core 3.1.3.7)', async () => {
    const callback = await start();
    idTokenNonce = () => 'replayed-nonce';
    expect((await refusal(completeLogin({ url: callback.href, storage }))).error).toBe('invalid_nonce');
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

  it('refreshes through the proxy', async () => {
    expect(await refreshTokens(`${proxyUrl}/`, 'rt')).toEqual({ access_token: 'at-2', token_type: 'Bearer' });
    expect(received[0]).toEqual({ path: '/token', body: { grant_type: 'refresh_token', refresh_token: 'rt' } });
  });
});
