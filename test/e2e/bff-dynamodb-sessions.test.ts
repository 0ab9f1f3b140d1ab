import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../functions/bff/backchannel-logout.ts';
import { fromEnv } from '../../functions/bff/wiring.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { BffBrowser } from '../helpers/bff-browser.ts';
import { watchedStack } from '../helpers/watched-stack.ts';
import { logoutForm, logoutToken as mintLogoutToken, postLogoutToken } from '../helpers/logout-token.ts';

/**
 * SESSION_STORE=dynamodb end to end: the local stack's bff on dynalite (through the real
 * DynamoDB client and AWS_ENDPOINT_URL_DYNAMODB), against the real oidc-provider with refresh
 * token rotation on and back-channel logout configured. Several containers are several apps built
 * by the bff's own fromEnv from the same environment, sharing the table.
 */
// 10 s access tokens are inside the 30 s refresh window: every API call finds its token due.
const watched = watchedStack({ mode: 'bff', sessionStore: 'dynamodb', rotateRefreshTokens: true, accessTokenTtl: 10 });
const { leaks } = watched;
let stack: LocalStack;
beforeAll(() => {
  stack = watched.current();
});

const { browser } = watched;
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

describe('the operator ends every session of a user (npm run end-sessions)', () => {
  it('--sub deletes each of that user\'s sessions, through the real SDK, and no one else\'s', async () => {
    const [first, second, other] = [browser(), browser(), browser()];
    await first.login(undefined, 'mary.jackson');
    await second.login(undefined, 'mary.jackson');
    await other.login(undefined, 'dorothy.vaughan');
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'infra/end-sessions.ts', '--sub', 'mary.jackson', '--table', stack.sessionTable!.tableName], {
      env: { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: stack.sessionTable!.url },
      timeout: 20_000,
    });
    expect(stdout).toContain('ended 2 sessions of "mary.jackson"');
    for (const b of [first, second]) expect((await b.request('/session')).json).toEqual({ authenticated: false });
    expect((await other.request('/session')).json?.authenticated).toBe(true);
  }, 30_000);
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

describe('the same race with the cookie store (why the store exists)', () => {
  it('under rotation, concurrent refreshes present a spent refresh token: some calls get 401 and the grant is lost', async () => {
    const cookie = await startLocalStack({ mode: 'bff', rotateRefreshTokens: true, accessTokenTtl: 10 });
    try {
      const b = new BffBrowser(cookie.proxyUrl, '', (secret) => leaks.secret(secret));
      await b.login();
      const answers = await Promise.all(Array.from({ length: 20 }, () => b.request('/api/demo/me')));
      expect(answers.filter((answer) => answer.status === 401).length).toBeGreaterThan(0);
    } finally {
      await cookie.close();
    }
  }, 30_000);
});

describe('OpenID Connect Back-Channel Logout 1.0 (POST /backchannel-logout)', () => {
  const logoutToken = (claims: Record<string, unknown>, drop: readonly string[] = [], use = 'logout') => mintLogoutToken(stack, claims, drop, use);
  const post = (body: string, type?: string) => postLogoutToken(stack.proxyUrl, body, type);
  const form = logoutForm;

  it('a logout at the authorization server ends that session (by its sid) at once, and only that one (2.6, 2.8: 200)', async () => {
    const b = browser();
    await b.login();
    const other = browser();
    await other.login();
    const claims = (await b.request('/session')).json?.claims as { sub: string; sid?: string };
    expect(claims.sid).toEqual(expect.any(String));
    // What oidc-provider's end_session does for each client with a backchannel_logout_uri; it throws unless answered 200.
    const client = await stack.authorizationServer.provider.Client.find(stack.clientId);
    await (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout(claims.sub, claims.sid!);
    expect((await b.request('/session')).json).toEqual({ authenticated: false });
    expect((await b.request('/api/demo/me')).status).toBe(401);
    expect((await other.request('/session')).json?.authenticated).toBe(true);
  });

  it('a token naming only the sub ends every session of that user (2.4)', async () => {
    const [first, second] = [browser(), browser()];
    await first.login(undefined, 'grace.hopper');
    await second.login(undefined, 'grace.hopper');
    const answer = await post(form(await logoutToken({ sub: 'grace.hopper' })));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    for (const b of [first, second]) expect((await b.request('/session')).json).toEqual({ authenticated: false });
  });

  it.each([
    ['replayed (jti seen before, 2.6 step 6)', async () => {
      const token = await logoutToken({ sub: 'someone.else' });
      expect((await post(form(token))).status).toBe(200);
      return form(token);
    }],
    ['with a nonce (2.6 step 7)', async () => form(await logoutToken({ sub: 'ada.lovelace', nonce: 'n' }))],
    ['without the events claim (2.6 step 5)', async () => form(await logoutToken({ sub: 'ada.lovelace' }, ['events']))],
    ['with another event', async () => form(await logoutToken({ sub: 'ada.lovelace', events: { 'http://schemas.openid.net/event/other': {} } }))],
    ['without a jti', async () => form(await logoutToken({ sub: 'ada.lovelace' }, ['jti']))],
    ['issued long ago', async () => form(await logoutToken({ sub: 'ada.lovelace', iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) + 60 }))],
    ['signed by a key the server does not publish (2.6 step 3)', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const now = Math.floor(Date.now() / 1000);
      const forged = await new SignJWT({ events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, jti: randomUUID(), sub: 'ada.lovelace' })
        .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: 'local-id-token' })
        .setIssuer(stack.issuer).setAudience(stack.clientId).setIssuedAt(now).setExpirationTime(now + 120)
        .sign(privateKey);
      return form(forged);
    }],
    ['an ID token instead', async () => form(await logoutToken({ sub: 'ada.lovelace', nonce: 'n' }, [], 'idtoken'))],
    ['no logout_token', async () => 'logout_token='],
    ['two logout_tokens', async () => { const token = await logoutToken({ sub: 'ada.lovelace' }); return `${form(token)}&${form(token)}`; }],
  ])('%s: 400 with an OAuth error, and the user stays signed in', async (_name, body) => {
    const b = browser();
    await b.login(undefined, 'ada.lovelace');
    const answer = await post(await body());
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    expect((await b.request('/session')).json?.authenticated).toBe(true);
  });

  it('JSON instead of a form: 400', async () => {
    expect((await post(JSON.stringify({ logout_token: await logoutToken({ sub: 'x' }) }), 'application/json')).status).toBe(400);
  });
});

// Session ids, tokens and the logout tokens of every test above (BffBrowser names its cookies).
watched.expectNoLeaks(20);
