import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { hasChromium, launchChromium } from '../helpers/chromium.ts';

/**
 * The bff mode in a real browser (RFC 10017 6.1): the demo SPA as `npm start` serves it, the proxy's
 * real bff function, the real AWS SDK, a real oidc-provider and a resource server. What Chromium
 * stores, what script on the page can and cannot reach, and what another site can do.
 */
describe.skipIf(!hasChromium)('the bff demo in Chromium', () => {
  let stack: LocalStack;
  let browser: Browser;
  let evil: http.Server;
  let evilOrigin: string;

  beforeAll(async () => {
    stack = await startLocalStack({ host: 'localhost', mode: 'bff' });
    browser = await launchChromium();
    // Another site: 127.0.0.1 is not localhost's site. Its page tries the proxy with the user's cookies.
    evil = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>evil</title>'));
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilOrigin = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    evil?.closeAllConnections();
    await new Promise<void>((resolve) => (evil === undefined ? resolve() : evil.close(() => resolve())));
  });

  async function signIn(page: Page, user: string): Promise<void> {
    await page.goto(`${stack.proxyUrl}/`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
    await page.locator('input[name="login"]').fill(user);
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('button[type="submit"]').click();
    await page.getByRole('heading', { level: 2 }).waitFor({ timeout: 15_000 });
  }

  async function signedInPage(user = 'ada.lovelace'): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, user);
    return { context, page };
  }

  it('signs in: the page shows the session\'s claims; Chromium keeps one __Host- cookie, HttpOnly, Secure, SameSite=Strict, host-only, Path=/', async () => {
    const { context, page } = await signedInPage();
    expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Signed in as ada.lovelace');
    expect(await page.locator('[data-claim="sub"]').textContent()).toBe('ada.lovelace');
    // Cookies ignore ports: oidc-provider's own (localhost too) are left out.
    const cookies = (await context.cookies()).filter((cookie) => cookie.name.startsWith('__Host-bff'));
    expect(cookies.map((cookie) => cookie.name)).toEqual(['__Host-bff-session']);
    expect(cookies[0]).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/', domain: 'localhost' });
    await context.close();
  });

  it('script on the page finds no token anywhere, yet can call the API while the page is open (RFC 10017 5.2.3)', async () => {
    const { context, page } = await signedInPage('grace.hopper');
    stack.resourceServer.reset();
    await page.getByRole('button', { name: 'Call the API' }).click();
    await expect.poll(() => page.locator('[data-api-answer]').textContent()).toContain('grace.hopper');
    const accessToken = String(stack.resourceServer.requests.at(-1)?.headers.authorization).replace(/^Bearer /, '');
    expect(accessToken.length).toBeGreaterThan(10);

    const found = await page.evaluate(async () => {
      const session = await (await fetch('/session', { headers: { 'X-CSRF': '1' } })).text();
      const api = await fetch('/api/demo/me', { headers: { 'X-CSRF': '1' } });
      return {
        documentCookie: document.cookie,
        storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
        session,
        apiStatus: api.status,
        api: await api.text(),
      };
    });
    expect(found.documentCookie).toBe('');
    expect(found.apiStatus).toBe(200);
    expect(found.api).toContain('grace.hopper');
    for (const text of [found.documentCookie, found.storage, found.session, found.api]) {
      expect(text).not.toContain(accessToken);
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
    }
    await context.close();
  });

  it('a page on another site can neither read the session nor log the user out', async () => {
    const { context, page } = await signedInPage('alan.turing');
    const other = await context.newPage();
    await other.goto(`${evilOrigin}/`);
    const attempts = await other.evaluate(async (proxy) => {
      const result: Record<string, string> = {};
      try {
        const answer = await fetch(`${proxy}/session`, { credentials: 'include', headers: { 'X-CSRF': '1' } });
        result.session = `read ${answer.status}: ${await answer.text()}`;
      } catch {
        result.session = 'blocked';
      }
      try {
        // A simple request: no preflight, so it is sent; without X-CSRF the proxy refuses it.
        await fetch(`${proxy}/logout`, { method: 'POST', credentials: 'include', mode: 'no-cors' });
        result.logout = 'sent';
      } catch {
        result.logout = 'blocked';
      }
      return result;
    }, stack.proxyUrl);
    expect(attempts.session).toBe('blocked');
    // Whatever the no-cors POST did, the session is still there.
    await page.reload();
    await page.getByRole('heading', { level: 2 }).waitFor();
    expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Signed in as alan.turing');
    await context.close();
  });

  it('two tabs logging in at once both complete', async () => {
    const context = await browser.newContext();
    const [first, second] = [await context.newPage(), await context.newPage()];
    for (const page of [first, second]) {
      await page.goto(`${stack.proxyUrl}/`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
    }
    for (const page of [second, first]) {
      await page.locator('input[name="login"]').fill('katherine.johnson');
      await page.locator('input[name="password"]').fill('any password');
      await page.locator('button[type="submit"]').click();
      await page.getByRole('heading', { level: 2 }).waitFor({ timeout: 15_000 });
      expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Signed in as katherine.johnson');
    }
    await context.close();
  });

  it('a forged callback (another browser\'s) and a replayed one are refused; the page says why', async () => {
    const attacker = await browser.newContext();
    const attackerPage = await attacker.newPage();
    let callbackUrl = '';
    attackerPage.on('request', (request) => {
      if (new URL(request.url()).pathname === '/callback') callbackUrl = request.url();
    });
    await attackerPage.route(`${stack.proxyUrl}/callback*`, (route) => route.abort());
    await attackerPage.goto(`${stack.proxyUrl}/`);
    await attackerPage.getByRole('button', { name: 'Sign in' }).click();
    await attackerPage.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
    await attackerPage.locator('input[name="login"]').fill('mallory');
    await attackerPage.locator('input[name="password"]').fill('any password');
    await attackerPage.locator('button[type="submit"]').click();
    await expect.poll(() => callbackUrl).not.toBe('');

    const context = await browser.newContext();
    const page = await context.newPage();
    let ownCallback = '';
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/callback') ownCallback = request.url();
    });
    await signIn(page, 'ada.lovelace');
    await page.goto(callbackUrl);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('login_required');
    // The victim is still signed in as themselves, not as the attacker.
    expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Signed in as ada.lovelace');
    expect(page.url()).not.toContain('code=');

    // This browser's own callback, loaded again (history, a reload): its login is spent.
    expect(ownCallback).not.toBe('');
    await page.goto(ownCallback);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('login_required');
    expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Signed in as ada.lovelace');
    await context.close();
    await attacker.close();
  });

  it('logs out for real: the refresh token is revoked, the end-session page signs the user out, and "Sign in" asks for a login again', async () => {
    const { context, page } = await signedInPage('ada.lovelace');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(new RegExp(`^${stack.issuer}/`));
    // oidc-provider's end-session page asks for a confirmation.
    await page.locator('button[autofocus], button[type="submit"]').first().click();
    await page.waitForURL(`${stack.proxyUrl}/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect((await context.cookies()).filter((cookie) => cookie.name.startsWith('__Host-bff'))).toEqual([]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
    expect(await page.locator('input[name="login"]').count()).toBe(1);
    await context.close();
  });
});
