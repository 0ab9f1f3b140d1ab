import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromEnv } from '../../functions/bff/wiring.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { BffBrowser } from '../helpers/bff-browser.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';

/**
 * SESSION_STORE=dynamodb end to end: the local stack's bff on dynalite (through the real
 * DynamoDB client and AWS_ENDPOINT_URL_DYNAMODB), against the real oidc-provider with refresh
 * token rotation on and back-channel logout configured. Several containers are several apps built
 * by the bff's own fromEnv from the same environment, sharing the table.
 */
let stack: LocalStack;
const leaks = createLeakCollector('keep');
let stopWatching: () => void = () => {};

beforeAll(async () => {
  stopWatching = leaks.watch();
  // 10 s access tokens are inside the 30 s refresh window: every API call finds its token due.
  stack = await startLocalStack({ mode: 'bff', sessionStore: 'dynamodb', rotateRefreshTokens: true, accessTokenTtl: 10 });
  leaks.secret(stack.clientSecret);
}, 30_000);

afterAll(async () => {
  await stack?.close();
  stopWatching();
});

const browser = () => new BffBrowser(stack.proxyUrl, '', (secret) => leaks.secret(secret));
const table = () => new DynamoDBClient({ endpoint: stack.sessionTable!.url });

async function scan(): Promise<Record<string, unknown>[]> {
  const client = table();
  try {
    return ((await client.send(new ScanCommand({ TableName: stack.sessionTable!.tableName }))).Items ?? []) as Record<string, unknown>[];
  } finally {
    client.destroy();
  }
}

/** Another container of the bff: its own caches and clients, the same table. */
function container() {
  const { app } = fromEnv(stack.env, Date.now, () => {});
  return (path: string, b: BffBrowser, init: { method?: string } = {}) =>
    app.fetch(
      new Request(new URL(path, stack.proxyUrl), {
        method: init.method ?? 'GET',
        headers: { cookie: b.cookieHeader(), 'x-csrf': '1', origin: stack.proxyUrl },
      }),
    );
}

describe('SESSION_STORE=dynamodb: the cookie holds an id, the table the sealed session', () => {
  it('the session cookie is 256 random bits (__Host-, HttpOnly, Secure, Strict); the record holds no token in clear', async () => {
    const b = browser();
    await b.login();
    const cookie = b.cookies.get('__Host-bff-session')!;
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie.attributes).toMatchObject({ httponly: '', secure: '', samesite: 'Strict', path: '/' });
    expect((await b.request('/session')).json).toMatchObject({ authenticated: true, claims: { sub: 'katherine.johnson' } });
    const items = JSON.stringify(await scan());
    expect(items).not.toContain(cookie.value);
    expect(items).not.toMatch(/access_token|refresh_token|"claims"/);
  });

  it('POST /logout deletes the record: a copy of the old cookie is dead at once', async () => {
    const b = browser();
    await b.login();
    const stolen = new BffBrowser(stack.proxyUrl);
    stolen.cookies.set('__Host-bff-session', b.cookies.get('__Host-bff-session')!);
    expect((await stolen.request('/session')).json?.authenticated).toBe(true);
    expect((await b.request('/logout', { method: 'POST' })).status).toBe(200);
    expect((await stolen.request('/session')).json).toEqual({ authenticated: false });
    expect((await stolen.request('/api/demo/me')).status).toBe(401);
  });
});

describe('refresh without races (the refresh token once per rotation)', () => {
  it('20 concurrent API calls across 4 containers with a due access token all succeed, and the session survives', async () => {
    const b = browser();
    await b.login();
    const grants: string[] = [];
    const onSuccess = (ctx: { oidc: { params?: { grant_type?: unknown } } }) => grants.push(String(ctx.oidc.params?.grant_type));
    const onError = (ctx: { oidc: { params?: { grant_type?: unknown } } }) => grants.push(`error:${String(ctx.oidc.params?.grant_type)}`);
    stack.authorizationServer.provider.on('grant.success', onSuccess);
    stack.authorizationServer.provider.on('grant.error', onError);
    try {
      const containers = [container(), container(), container(), container()];
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => containers[i % 4]!('/api/demo/me', b)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
      // No reuse: a spent (rotated) refresh token would have been refused and the grant revoked.
      expect(grants.filter((grant) => grant.startsWith('error:'))).toEqual([]);
      expect(grants.filter((grant) => grant === 'refresh_token').length).toBeGreaterThanOrEqual(1);
      expect(grants.filter((grant) => grant === 'refresh_token').length).toBeLessThan(20);
      expect((await b.request('/api/demo/me')).status).toBe(200);
      expect((await b.request('/session')).json?.authenticated).toBe(true);
    } finally {
      stack.authorizationServer.provider.off('grant.success', onSuccess);
      stack.authorizationServer.provider.off('grant.error', onError);
    }
  }, 30_000);
});
