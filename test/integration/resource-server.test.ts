import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalResourceServer, type LocalResourceServer } from '../../local/resource-server.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { loginThroughProxy } from '../helpers/login-flow.ts';

/**
 * The local resource server the bff demo and tests call through the proxy: it validates bearer
 * tokens (RFC 6750) at a real oidc-provider's userinfo endpoint, records what reached it, and
 * misbehaves on demand.
 */
let stack: LocalStack;
let api: LocalResourceServer;
let accessToken: string;

beforeAll(async () => {
  stack = await startLocalStack();
  api = await startLocalResourceServer({ issuer: stack.issuer });
  const { tokens } = await loginThroughProxy(stack, { scope: 'openid profile email' });
  accessToken = String(tokens.access_token);
});
afterAll(async () => {
  await api?.close();
  await stack?.close();
});
afterEach(() => api.reset());

function me(headers: Record<string, string> = {}, init: RequestInit = {}) {
  return fetch(`${api.apiUrl}/me`, { headers, redirect: 'manual', signal: AbortSignal.timeout(5000), ...init });
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('GET {base}/me', () => {
  it('answers a real access token with its user, validated at the userinfo endpoint', async () => {
    const response = await me(bearer(accessToken));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ sub: 'katherine.johnson', name: 'katherine.johnson', email: 'katherine.johnson@example.test' });
  });

  it('is mounted under the base path API_UPSTREAMS names: {"demo": apiUrl} makes the proxy call /api/me', async () => {
    expect(api.apiUrl).toBe(`${api.url}/api`);
    expect((await fetch(`${api.url}/me`, { headers: bearer(accessToken) })).status).toBe(404);
  });

  it('answers HEAD like GET, without a body, and another method with 405 and Allow', async () => {
    const head = await me(bearer(accessToken), { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    const post = await me(bearer(accessToken), { method: 'POST', body: '{}' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('answers a request without credentials 401 with a Bearer challenge and no error code (RFC 6750 3.1)', async () => {
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }] as Record<string, string>[]) {
      const response = await me(headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="local-api"');
    }
  });

  it('answers a token the authorization server does not know 401 error="invalid_token" (RFC 6750 3.1)', async () => {
    const response = await me(bearer('garbage-token'));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="local-api", error="invalid_token"');
    expect(await response.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('answers a malformed Authorization header 400 error="invalid_request" (RFC 6750 2.1, 3.1)', async () => {
    for (const authorization of ['Bearer', 'Bearer two tokens', 'Bearer b@d']) {
      const response = await me({ authorization });
      expect(response.status, authorization).toBe(400);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="local-api", error="invalid_request"');
    }
  });

  it('refuses a token revoked since: it asks the authorization server every time', async () => {
    const { tokens } = await loginThroughProxy(stack, { scope: 'openid' }, 'mary.jackson');
    const token = String(tokens.access_token);
    expect((await me(bearer(token))).status).toBe(200);
    await (await stack.authorizationServer.provider.AccessToken.find(token))!.destroy();
    expect((await me(bearer(token))).status).toBe(401);
  });

  it('answers 503 temporarily_unavailable when the authorization server cannot be reached', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const orphan = await startLocalResourceServer({ issuer });
    try {
      const response = await fetch(`${orphan.apiUrl}/me`, { headers: bearer(accessToken) });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable' });
    } finally {
      await orphan.close();
    }
  });
});

describe('what reached it', () => {
  it('records every request: method, path with query, headers and body, so a test can assert what a proxy forwarded', async () => {
    await me({ ...bearer(accessToken), cookie: '__Host-bff-session=sealed', 'x-csrf': '1' });
    await fetch(`${api.apiUrl}/orders?id=7`, { method: 'PUT', body: '{"n":1}', headers: { 'content-type': 'application/json' } });
    expect(api.requests).toHaveLength(2);
    expect(api.requests[0]).toMatchObject({ method: 'GET', path: '/api/me' });
    expect(api.requests[0]!.headers).toMatchObject({ cookie: '__Host-bff-session=sealed', 'x-csrf': '1', authorization: `Bearer ${accessToken}` });
    expect(api.requests[1]).toMatchObject({ method: 'PUT', path: '/api/orders?id=7' });
    expect(api.requests[1]!.body.toString()).toBe('{"n":1}');
    api.reset();
    expect(api.requests).toEqual([]);
  });
});

describe('misbehaving on demand', () => {
  it('adds a Set-Cookie to its real answer', async () => {
    api.misbehave({ setCookie: 'tracker=1; Path=/' });
    const response = await me(bearer(accessToken));
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual(['tracker=1; Path=/']);
  });

  it('answers as scripted instead: a redirect, or a body that is not JSON', async () => {
    api.misbehave({ status: 302, headers: { location: 'https://evil.example/' } });
    const redirect = await me(bearer(accessToken));
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, 'https://evil.example/']);
    api.misbehave({ status: 200, headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(await (await me()).text()).toBe('{not json');
  });

  it('hangs, resets the connection, or answers bytes that are not HTTP, and is recorded either way', async () => {
    api.misbehave({ hang: true });
    await expect(me({}, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    api.misbehave({ reset: true });
    await expect(me()).rejects.toThrow();
    api.misbehave({ garbage: true });
    await expect(me()).rejects.toThrow();
    expect(api.requests).toHaveLength(3);
  });

  it('behaves again once told to', async () => {
    api.misbehave({ status: 500 });
    expect((await me(bearer(accessToken))).status).toBe(500);
    api.misbehave(undefined);
    expect((await me(bearer(accessToken))).status).toBe(200);
  });

  it('closes while a request hangs', async () => {
    const hanging = await startLocalResourceServer({ issuer: stack.issuer });
    hanging.misbehave({ hang: true });
    const pending = fetch(`${hanging.apiUrl}/me`).catch((error: unknown) => error);
    await expect.poll(() => hanging.requests.length).toBe(1);
    await hanging.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});
