import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { hasChromium, launchChromium } from '../helpers/chromium.ts';

/**
 * What a new user sees in the demo, in a real browser, for both modes: the login step by step (the
 * intent, the signed request object RFC 9101 as the authorization server received it, the
 * request_uri RFC 9126 2.2, the callback, the tokens or the session), a refresh (RFC 6749 6), and
 * a real logout (OpenID Connect RP-Initiated Logout 1.0) after which another user signs in. Every
 * request of the login stays on this machine, the console has no error, and the pages hold on a
 * phone-sized screen.
 */
interface Watched {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Requests to anything but localhost and 127.0.0.1 (web fonts, ...). */
  readonly external: string[];
  /** console.error messages and uncaught exceptions, on any page of the context. */
  readonly errors: string[];
}

async function watchedPage(browser: Browser, viewport?: { width: number; height: number }): Promise<Watched> {
  const context = await browser.newContext(viewport === undefined ? {} : { viewport });
  const external: string[] = [];
  const errors: string[] = [];
  context.on('request', (request) => {
    const { hostname } = new URL(request.url());
    if (hostname !== 'localhost' && hostname !== '127.0.0.1' && !request.url().startsWith('data:')) external.push(request.url());
  });
  const page = await context.newPage();
  watchErrors(page, errors);
  return { context, page, external, errors };
}

function watchErrors(page: Page, errors: string[]): void {
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
}

/** oidc-provider's development login page (served without web fonts): any user name. */
async function logIn(page: Page, stack: LocalStack, user: string): Promise<void> {
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await page.getByRole('heading', { level: 2, name: `Signed in as ${user}` }).waitFor({ timeout: 15_000 });
}

/** The demo's logout, and oidc-provider's end-session confirmation, back to the demo. */
async function logOut(page: Page, stack: LocalStack): Promise<void> {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(new RegExp(`^${stack.issuer}/session/end`));
  await page.locator('button[autofocus]').click();
  await page.waitForURL(`${stack.proxyUrl}/`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
}

/**
 * The end of each mode's walk: a real logout, the flow gone, another user signs in (the dev login
 * takes any name) and is shown; and all along, nothing left the machine and the console had no error.
 */
async function bobAfterLogout({ context, page, external, errors }: Watched, stack: LocalStack): Promise<void> {
  await logOut(page, stack);
  expect(await page.locator('ol.flow').count()).toBe(0);
  await logIn(page, stack, 'bob');
  expect(await page.locator('[data-claim="sub"]').textContent()).toBe('bob');
  expect(external).toEqual([]);
  expect(errors).toEqual([]);
  await context.close();
}

const stepIds = (page: Page) => page.locator('ol.flow > li').evaluateAll((items) => items.map((item) => item.getAttribute('data-step')));
const stepText = async (page: Page, id: string) => (await page.locator(`[data-step="${id}"]`).textContent()) ?? '';
const noHorizontalScroll = (page: Page) => page.evaluate(() => document.scrollingElement!.scrollWidth <= window.innerWidth);

/** The header the proxy's KMS key signs with: its kid is the one /.well-known/jwks.json publishes. */
async function publishedKid(stack: LocalStack): Promise<string> {
  const jwks = (await (await fetch(`${stack.proxyUrl}/.well-known/jwks.json`, { signal: AbortSignal.timeout(5000) })).json()) as { keys: { kid: string }[] };
  return jwks.keys[0]!.kid;
}

/** The request object step: header with the published kid, claims with the date beside each time. */
async function expectRequestObject(page: Page, stack: LocalStack): Promise<void> {
  const text = await stepText(page, 'request-object');
  expect(text).toContain(`"kid": "${await publishedKid(stack)}"`);
  expect(text).toContain('"typ": "oauth-authz-req+jwt"');
  expect(text).toContain(`"aud": "${stack.issuer}"`);
  expect(text).toContain(`"client_id": "${stack.clientId}"`);
  expect(text).toContain('offline_access');
  const exp = /"exp": (\d+),?\s+\/\/ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)/.exec(text);
  expect(exp).not.toBeNull();
  expect(new Date(Number(exp![1]) * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')).toBe(exp![2]);
  // The request_uri the authorization server answered is the one the proxy's answer names.
  expect(await stepText(page, 'pushed')).toMatch(/"request_uri": "urn:ietf:params:oauth:request_uri:[\w-]+"/);
}

describe.skipIf(!hasChromium)('the relay demo shows the flow in Chromium', () => {
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startLocalStack({ host: 'localhost', refreshTokens: true });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows each step with the tokens shortened, refreshes, logs out for real, and bob signs in after alice; nothing leaves the machine, no console error', async () => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    const tokenAnswers: Record<string, string>[] = [];
    page.on('response', async (response) => {
      if (response.url() === `${stack.proxyUrl}/token`) tokenAnswers.push((await response.json()) as Record<string, string>);
    });
    await page.goto(`${stack.proxyUrl}/`);
    await logIn(page, stack, 'alice');

    expect(await stepIds(page)).toEqual(['intent', 'pushed', 'request-object', 'callback', 'tokens']);
    expect(await stepText(page, 'intent')).toContain('"code_challenge_method": "S256"');
    await expectRequestObject(page, stack);
    expect(await stepText(page, 'callback')).toContain(`"iss": "${stack.issuer}"`);
    const first = tokenAnswers[0]!;
    expect(first.refresh_token).toEqual(expect.any(String));
    const tokens = await stepText(page, 'tokens');
    expect(tokens).toContain(`"access_token": "${first.access_token!.slice(0, 6)}…${first.access_token!.slice(-4)}`);
    const body = (await page.locator('body').textContent()) ?? '';
    for (const name of ['access_token', 'refresh_token', 'id_token']) expect(body).not.toContain(first[name]);
    expect(await page.locator('[data-claim="iat"]').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+\)$/);

    const before = await page.locator('[data-access-token]').getAttribute('data-access-token');
    await page.getByRole('button', { name: 'Refresh the tokens' }).click();
    await page.locator('[data-step="refresh"]').waitFor();
    expect(await stepText(page, 'refresh')).toContain('200');
    expect(await page.locator('[data-access-token]').getAttribute('data-access-token')).not.toBe(before);
    expect(tokenAnswers).toHaveLength(2);

    await bobAfterLogout(watched, stack);
  }, 60_000);

  it("the startup banner's step 2: a login pushed with curl ends on /callback, which shows the code for the printed /token command", async () => {
    const pushed = (await (
      await fetch(`${stack.proxyUrl}/par`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uri: stack.redirectUri, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 'xyz', scope: 'openid' }),
        signal: AbortSignal.timeout(5000),
      })
    ).json()) as { authorization_url: string };
    const { context, page } = await watchedPage(browser);
    const callbacks: URL[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(`${stack.proxyUrl}/callback`)) callbacks.push(new URL(request.url()));
    });
    await page.goto(pushed.authorization_url);
    await page.locator('input[name="login"]').fill('carol');
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('button[type="submit"]').click();
    await page.locator('[data-foreign-code]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-foreign-code]').textContent()).toBe(callbacks[0]!.searchParams.get('code'));
    await context.close();
  }, 60_000);

  it('holds on a phone-sized screen (375 x 667): no horizontal scroll before or after sign-in, nor on the login page', async () => {
    const { context, page } = await watchedPage(browser, { width: 375, height: 667 });
    await page.goto(`${stack.proxyUrl}/`);
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.locator('input[name="login"]').fill('a.very.long.user.name.that.does.not.break.anywhere@example.test');
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('button[type="submit"]').click();
    await page.locator('[data-step="tokens"]').waitFor({ timeout: 15_000 });
    expect(await noHorizontalScroll(page)).toBe(true);
    await context.close();
  }, 60_000);
});

describe.skipIf(!hasChromium)('the bff demo shows the flow in Chromium', () => {
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    // An access token that always has 30 s or less left: every API call refreshes it first.
    stack = await startLocalStack({ host: 'localhost', mode: 'bff', accessTokenTtl: 30 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows each step, the session, API calls through the proxy and their refreshes, logs out for real, and bob signs in after alice; nothing leaves the machine, no console error', async () => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(`${stack.proxyUrl}/`);
    await logIn(page, stack, 'alice');

    expect(await stepIds(page)).toEqual(['intent', 'pushed', 'request-object', 'callback', 'session']);
    expect(await stepText(page, 'intent')).toContain('"scope": "openid profile email offline_access"');
    await expectRequestObject(page, stack);
    expect(await stepText(page, 'callback')).toContain('"grant_type": "authorization_code"');
    expect(await stepText(page, 'session')).toMatch(/"expires_at": \d+,?\s+\/\/ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);

    const refreshes = async () => ((await stepText(page, 'token-endpoint')).match(/"refresh_token"/g) ?? []).length;
    await page.getByRole('button', { name: 'Call the API' }).click();
    await page.locator('[data-step="api"]').waitFor();
    expect(await stepText(page, 'api')).toContain('"sub": "alice"');
    expect(await refreshes()).toBe(1);
    await page.getByRole('button', { name: 'Call the API' }).click();
    await expect.poll(() => stepText(page, 'api')).toContain('call 2');
    expect(await refreshes()).toBe(2);
    expect(await stepIds(page)).toEqual(['intent', 'pushed', 'request-object', 'callback', 'session', 'api', 'token-endpoint']);

    await bobAfterLogout(watched, stack);
  }, 60_000);

  it('holds on a phone-sized screen (375 x 667): no horizontal scroll before or after sign-in', async () => {
    const { context, page } = await watchedPage(browser, { width: 375, height: 667 });
    await page.goto(`${stack.proxyUrl}/`);
    expect(await noHorizontalScroll(page)).toBe(true);
    await logIn(page, stack, 'a.very.long.user.name.that.does.not.break.anywhere@example.test');
    await page.getByRole('button', { name: 'Call the API' }).click();
    await page.locator('[data-step="api"]').waitFor();
    expect(await noHorizontalScroll(page)).toBe(true);
    await context.close();
  }, 60_000);
});

describe.skipIf(!hasChromium)('the relay demo with DPoP shows a refresh in Chromium', () => {
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startLocalStack({ host: 'localhost', dpop: true, refreshTokens: true });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("refreshes with a proof of the page's key (RFC 9449 5): a new DPoP access token; the console's one error is the nonce challenge", async () => {
    const { context, page, errors } = await watchedPage(browser);
    const nonceChallenges: string[] = [];
    page.on('response', async (response) => {
      if (response.url() === `${stack.proxyUrl}/token` && response.status() === 400) nonceChallenges.push(String(((await response.json()) as { error?: string }).error));
    });
    await page.goto(`${stack.proxyUrl}/`);
    await logIn(page, stack, 'alice');
    const before = await page.locator('[data-access-token]').getAttribute('data-access-token');
    await page.getByRole('button', { name: 'Refresh the tokens' }).click();
    await page.locator('[data-step="refresh"]').waitFor();
    const refresh = await stepText(page, 'refresh');
    expect(refresh).toContain(': 200');
    expect(refresh).toContain('"token_type": "DPoP"');
    expect(await page.locator('[data-access-token]').getAttribute('data-access-token')).not.toBe(before);
    // RFC 9449 8: the first token request has no nonce and is answered 400 use_dpop_nonce, which
    // Chromium logs as a failed load; the refresh reuses the nonce and is not challenged.
    expect(nonceChallenges).toEqual(['use_dpop_nonce']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Failed to load resource: the server responded with a status of 400/);
    await context.close();
  }, 60_000);
});
