import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { hasChromium, launchChromium } from '../helpers/chromium.ts';

/**
 * A person's login, in a real browser: the demo SPA's "Sign in", the authorization server's login
 * page, the callback, and the ID token's claims on the page. Every step goes through the proxy's
 * real handlers (/par, /token), the real AWS SDK and a real oidc-provider.
 */
// Without Chromium, test/setup/notices.ts says so once, where vitest does not hold console output back.
describe.skipIf(!hasChromium)('the demo SPA in Chromium', () => {
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startLocalStack({ host: 'localhost' });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A page on the demo whose POSTs to the proxy are recorded, path by path. */
  async function demoPage(): Promise<{ page: Page; proxyCalls: string[] }> {
    const page = await browser.newPage();
    const proxyCalls: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === stack.proxyUrl && request.method() === 'POST') proxyCalls.push(url.pathname);
    });
    await page.goto(`${stack.proxyUrl}/`);
    return { page, proxyCalls };
  }

  /** "Sign in", up to the authorization server's login page. */
  async function signIn(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
  }

  /** oidc-provider's development login page: any user name. */
  async function logIn(page: Page, user: string): Promise<void> {
    await page.locator('input[name="login"]').fill(user);
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('button[type="submit"]').click();
  }

  /** What the demo shows once it has handled the callback: its alert, or whom it signed in. */
  async function outcome(page: Page): Promise<string> {
    await page.locator('[role="alert"], [data-claim="sub"]').first().waitFor({ timeout: 15_000 });
    const alert = page.getByRole('alert');
    if ((await alert.count()) > 0) return (await alert.textContent()) ?? '';
    return `signed in as ${await page.locator('[data-claim="sub"]').textContent()}`;
  }

  /**
   * A login at oidc-provider, and its real redirect to the callback, before the demo reads it: the
   * demo's script is kept from that one page load, so the login is still in progress in this tab.
   * (Playwright routes no redirect hops, so the redirect itself cannot be rewritten.)
   */
  async function heldCallback(page: Page, user: string): Promise<URL> {
    await signIn(page);
    await page.route(`${stack.proxyUrl}/demo.js`, (route) => route.abort(), { times: 1 });
    await logIn(page, user);
    await page.waitForURL((url) => url.pathname === '/callback');
    return new URL(page.url());
  }

  it('signs in through PAR + JAR and shows the ID token claims, then logs out', async () => {
    const { page, proxyCalls } = await demoPage();
    await signIn(page);
    await logIn(page, 'ada.lovelace');

    await page.waitForURL(`${stack.proxyUrl}/`);
    await expect.poll(() => page.locator('[data-claim="sub"]').textContent()).toBe('ada.lovelace');
    expect(await page.locator('[data-claim="iss"]').textContent()).toBe(stack.issuer);
    expect(await page.locator('[data-claim="aud"]').textContent()).toBe(stack.clientId);
    expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Signed in as ada.lovelace');
    expect(proxyCalls).toEqual(['/par', '/token']);

    // A real logout (RP-Initiated Logout 1.0): oidc-provider's end-session page asks, then sends the browser back.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(new RegExp(`^${stack.issuer}/session/end`));
    await page.locator('button[autofocus]').click();
    await page.waitForURL(`${stack.proxyUrl}/`);
    await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).count()).toBe(1);
  }, 60_000);

  it('refuses a mix-up: an authorization response whose iss is another server, redeeming nothing (RFC 9207 2.4)', async () => {
    const { page, proxyCalls } = await demoPage();
    const callback = await heldCallback(page, 'mary.jackson');
    // The server's own answer: its iss, a code and this login's state. Only iss is changed.
    expect(callback.searchParams.get('iss')).toBe(stack.issuer);
    expect(callback.searchParams.has('code')).toBe(true);
    callback.searchParams.set('iss', 'https://attacker.example/');
    await page.goto(callback.href);
    expect(await outcome(page)).toContain('invalid_issuer');
    expect(proxyCalls).toEqual(['/par']);
  }, 60_000);

  it('refuses an authorization response without iss: oidc-provider advertises that it always sends one (RFC 9207 2.4)', async () => {
    const { page, proxyCalls } = await demoPage();
    const callback = await heldCallback(page, 'dorothy.vaughan');
    callback.searchParams.delete('iss');
    await page.goto(callback.href);
    expect(await outcome(page)).toContain('invalid_issuer');
    expect(proxyCalls).toEqual(['/par']);
  }, 60_000);

  it("reports oidc-provider's invalid_request_uri, an error response with iss and no state, as that error, redeeming nothing (RFC 6749 4.1.2.1, RFC 9207 2.4)", async () => {
    // A login that uses its request_uri up (RFC 9126 4: one-time use)...
    const first = await demoPage();
    const authorization = first.page.waitForRequest((request) => request.url().startsWith(`${stack.issuer}/auth?`));
    await signIn(first.page);
    await logIn(first.page, 'annie.easley');
    const usedUrl = (await authorization).url();
    expect(await outcome(first.page)).toBe('signed in as annie.easley');

    // ...and, in another tab with a login of its own in progress, that spent authorization URL.
    const second = await demoPage();
    const callbacks: URL[] = [];
    second.page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === stack.proxyUrl && url.pathname === '/callback') callbacks.push(url);
    });
    await signIn(second.page);
    await second.page.goto(usedUrl);
    expect(await outcome(second.page)).toContain('invalid_request_uri');
    expect(callbacks).toHaveLength(1);
    expect(callbacks[0]!.searchParams.get('error')).toBe('invalid_request_uri');
    expect(callbacks[0]!.searchParams.has('state')).toBe(false);
    expect(callbacks[0]!.searchParams.get('iss')).toBe(stack.issuer);
    expect(second.proxyCalls).toEqual(['/par']);
  }, 60_000);

  it('refuses a tampered callback: a state this tab did not send (login CSRF)', async () => {
    const { page, proxyCalls } = await demoPage();
    await signIn(page);
    // An attacker's link lands on the callback with its own code and state, and the (public) iss.
    await page.goto(`${stack.proxyUrl}/callback?code=attacker-code&state=attacker-state&iss=${encodeURIComponent(stack.issuer)}`);
    expect(await outcome(page)).toContain('invalid_state');
    expect(proxyCalls).toEqual(['/par']);
  }, 60_000);
});
