import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSessionStore, sessionKey } from '../../functions/adapters/dynamodb-session-store.ts';
import { Deadline } from '../../functions/core/deadline.ts';
import { fromEnv } from '../../functions/bff/wiring.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { BffBrowser } from '../helpers/bff-browser.ts';
import { startFaultyDynamoDb, type FaultyDynamoDb } from '../helpers/dynamodb-faults.ts';
import { logoutForm, logoutToken, postLogoutToken } from '../helpers/logout-token.ts';

/**
 * SESSION_STORE=dynamodb on the server's side: the timeouts judged against the record (a container
 * whose clock runs ahead stands for time passing), and what the bff answers when the table throttles,
 * fails or is slow (through a wire-level stand-in in front of dynalite): 503 or 504, with the
 * session intact afterwards.
 */
let stack: LocalStack;
let faulty: FaultyDynamoDb;
const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
const IDLE = 3600;
const MAX_AGE = 28800;

beforeAll(async () => {
  stack = await startLocalStack({ mode: 'bff', sessionStore: 'dynamodb' });
  faulty = await startFaultyDynamoDb(stack.sessionTable!.url);
  // Every container reaches the table through the stand-in (the SDK reads the variable lazily).
  process.env.AWS_ENDPOINT_URL_DYNAMODB = faulty.url;
}, 30_000);

afterAll(async () => {
  if (endpoint === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  else process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
  await faulty?.close();
  await stack?.close();
});

/** A container of the bff whose clock is `aheadS` seconds ahead. */
function container(aheadS = 0, env: Record<string, string> = {}) {
  const { app } = fromEnv({ ...stack.env, ...env }, () => Date.now() + aheadS * 1000, () => {});
  return async (b: BffBrowser, path: string, method = 'GET') => {
    const answer = await app.fetch(
      new Request(new URL(path, stack.proxyUrl), { method, headers: { cookie: b.cookieHeader(), 'x-csrf': '1', origin: stack.proxyUrl } }),
    );
    b.take(answer.headers.getSetCookie());
    return { status: answer.status, headers: answer.headers, json: (await answer.json().catch(() => undefined)) as Record<string, unknown> | undefined };
  };
}

async function signedIn(): Promise<BffBrowser> {
  const b = new BffBrowser(stack.proxyUrl);
  await b.login();
  return b;
}

describe('timeouts, judged by the server', () => {
  it(`idle: a session unused for SESSION_IDLE_TIMEOUT (${IDLE} s) ends, and its record is deleted`, async () => {
    const b = await signedIn();
    expect((await container(IDLE - 60)(b, '/session')).json?.authenticated).toBe(true);
    // That request was activity: an hour after it, the session still lives...
    expect((await container(2 * IDLE - 120)(b, '/session')).json?.authenticated).toBe(true);
    // ...and an hour of nothing after that ends it, for every container.
    expect((await container(3 * IDLE)(b, '/session')).json).toEqual({ authenticated: false });
    expect((await container()(b, '/session')).json).toEqual({ authenticated: false });
  });

  it(`absolute: SESSION_MAX_AGE (${MAX_AGE} s) after the login it ends, however active`, async () => {
    const b = await signedIn();
    for (let ahead = IDLE - 60; ahead < MAX_AGE; ahead += IDLE - 60) expect((await container(ahead)(b, '/session')).json?.authenticated).toBe(true);
    expect((await container(MAX_AGE)(b, '/session')).json).toEqual({ authenticated: false });
  });

  it('a warm /session is one GetItem (activity is written at most every tenth of the idle timeout)', async () => {
    const b = await signedIn();
    const call = container();
    await call(b, '/session');
    faulty.calls.clear();
    for (let i = 0; i < 5; i += 1) expect((await call(b, '/session')).status).toBe(200);
    expect(Object.fromEntries(faulty.calls)).toEqual({ GetItem: 5 });
  });
});

describe('cookies that are no session id', () => {
  it.each([
    ['a cookie-store value (a JWE)', 'eyJhbGciOiJkaXIifQ..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['42 characters', 'a'.repeat(42)],
    ['44 characters', 'a'.repeat(44)],
    ['not base64url', `${'a'.repeat(42)}+`],
    ['empty', ''],
  ])('%s: no session, cleared, and no call to the table', async (_name, value) => {
    const b = new BffBrowser(stack.proxyUrl);
    b.cookies.set('__Host-bff-session', { name: '__Host-bff-session', value, attributes: {} });
    faulty.calls.clear();
    const answer = await container()(b, '/session');
    expect(answer.json).toEqual({ authenticated: false });
    expect(Object.fromEntries(faulty.calls)).toEqual({});
  });

  it('a well-formed id of no session: one GetItem, no session', async () => {
    const b = new BffBrowser(stack.proxyUrl);
    b.cookies.set('__Host-bff-session', { name: '__Host-bff-session', value: 'A'.repeat(43), attributes: {} });
    faulty.calls.clear();
    expect((await container()(b, '/api/demo/me')).status).toBe(401);
    expect(Object.fromEntries(faulty.calls)).toEqual({ GetItem: 1 });
  });
});

describe('what a refresh costs the table', () => {
  it('an API call with a due access token: one GetItem, the lease (a conditional UpdateItem) and the next version (a conditional PutItem)', async () => {
    const b = await signedIn();
    // Activity written 400 s on (the idle timeout's tenth, 360 s, had passed)...
    await container(400)(b, '/session');
    // ...so that 600 s on, when the access token (10 minutes) is due, none is due: the refresh alone.
    const call = container(600);
    faulty.calls.clear();
    expect((await call(b, '/api/demo/me')).status).toBe(200);
    expect(Object.fromEntries(faulty.calls)).toEqual({ GetItem: 1, UpdateItem: 1, PutItem: 1 });
    faulty.calls.clear();
    expect((await call(b, '/api/demo/me')).status).toBe(200);
    expect(Object.fromEntries(faulty.calls)).toEqual({ GetItem: 1 });
  });
});

describe('a lease someone else holds (a container that crashed mid-refresh, or a slow one)', () => {
  const noKeys = { seal: () => Promise.reject(new Error('unused')), open: () => Promise.reject(new Error('unused')) };
  /** The containers below run 600 s ahead (the access token due): the lease is in their time. */
  const AHEAD_MS = 600_000;
  /** Takes the refresh lease of `b`'s session as another container would, until `ms` from now. */
  async function holdLease(b: BffBrowser, ms: number): Promise<{ release(): Promise<void> }> {
    const id = b.cookies.get('__Host-bff-session')!.value;
    const client = new DynamoDBClient({ endpoint: stack.sessionTable!.url });
    const store = new DynamoDbSessionStore(client, stack.sessionTable!.tableName, noKeys);
    const deadline = Deadline.start(Date.now, 5000, 5000);
    const item = await client.send(new GetItemCommand({ TableName: stack.sessionTable!.tableName, Key: { pk: { S: sessionKey(id) } }, ConsistentRead: true }));
    expect(await store.lease(id, Number(item.Item!.ver!.N), 'crashed', Date.now() + AHEAD_MS + ms, Date.now(), deadline)).toBe(true);
    return {
      release: async () => {
        await store.release(id, 'crashed', deadline);
        client.destroy();
      },
    };
  }

  it('expires within the wait: the caller waits for it, then takes it and refreshes (200)', async () => {
    const b = await signedIn();
    const held = await holdLease(b, 600);
    const started = Date.now();
    try {
      expect((await container(600)(b, '/api/demo/me')).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    } finally {
      await held.release();
    }
  });

  it('outlasts the bounded wait (40 reads, about 2 s): 503, and the session is intact once it is released', async () => {
    const b = await signedIn();
    const held = await holdLease(b, 30_000);
    const started = Date.now();
    const answer = await container(600)(b, '/api/demo/me');
    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ error: 'temporarily_unavailable' });
    expect(Date.now() - started).toBeLessThan(5000);
    await held.release();
    expect((await container(600)(b, '/api/demo/me')).status).toBe(200);
  });
});

describe('the table throttled, failing or slow: 503 / 504, nothing lost', () => {
  it.each([
    ['throttled', 'throttle', 503],
    ['failing (500)', 'error', 503],
    ['slow', { delayMs: 1500 }, 504],
  ] as const)('%s on reads: /session and /api answer $2 temporarily_unavailable; afterwards the same session works', async (_name, fault, status) => {
    const b = await signedIn();
    const call = container(0, { UPSTREAM_TIMEOUT_MS: '500' });
    faulty.fault(fault, ['GetItem']);
    try {
      for (const path of ['/session', '/api/demo/me']) {
        const answer = await call(b, path);
        expect(answer.status).toBe(status);
        expect(answer.json).toMatchObject({ error: 'temporarily_unavailable' });
        if (status === 503) expect(answer.headers.get('retry-after')).toBe('1');
      }
    } finally {
      faulty.fault(undefined);
    }
    expect(b.cookies.has('__Host-bff-session')).toBe(true);
    expect((await call(b, '/api/demo/me')).status).toBe(200);
  });

  it('throttled on the refresh lease: 503, and the next call refreshes and succeeds', async () => {
    const b = await signedIn();
    // Ten minutes on: the access token (10 minutes) is due, the session is not idle.
    const call = container(600);
    await call(b, '/session');
    faulty.fault('throttle', ['UpdateItem']);
    try {
      expect((await call(b, '/api/demo/me')).status).toBe(503);
    } finally {
      faulty.fault(undefined);
    }
    expect((await call(b, '/api/demo/me')).status).toBe(200);
  });

  it('logout while the table throttles: 503 and the cookie kept, so the retry ends the session for good', async () => {
    const b = await signedIn();
    const call = container();
    faulty.fault('throttle', ['DeleteItem']);
    try {
      expect((await call(b, '/logout', 'POST')).status).toBe(503);
    } finally {
      faulty.fault(undefined);
    }
    const stolen = new BffBrowser(stack.proxyUrl);
    stolen.cookies.set('__Host-bff-session', b.cookies.get('__Host-bff-session')!);
    expect((await call(b, '/logout', 'POST')).status).toBe(200);
    expect((await call(stolen, '/session')).json).toEqual({ authenticated: false });
  });

  it('back-channel logout while the table throttles: 503 (the server retries), and the retry of the same token is no replay', async () => {
    const b = await signedIn();
    const token = logoutForm(await logoutToken(stack, { sub: 'katherine.johnson' }));
    faulty.fault('throttle', ['Query']);
    try {
      expect((await postLogoutToken(stack.proxyUrl, token)).status).toBe(503);
    } finally {
      faulty.fault(undefined);
    }
    expect((await container()(b, '/session')).json?.authenticated).toBe(true);
    expect((await postLogoutToken(stack.proxyUrl, token)).status).toBe(200);
    expect((await container()(b, '/session')).json).toEqual({ authenticated: false });
  });
});
