import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/chromium.ts';

/**
 * A person's login, in a real browser: the demo SPA's "Sign in", the authorization server's login
 * page, the callback, and the ID token's claims on the page. Every step goes through the proxy's
 * real handlers (/par, /token), the real AWS SDK and a real oidc-provider.
 */
if (!hasChromium) {
  console.warn(`Skipping the browser test: no Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run does).`);
}

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

  it('signs in through PAR + JAR and shows the ID token claims, then logs out', async () => {
    const page = await browser.newPage();
    const proxyCalls: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === stack.proxyUrl && request.method() === 'POST') proxyCalls.push(url.pathname);
    });
    await page.goto(`${stack.proxyUrl}/`);
    await page.getByRole('button', { name: 'Sign in' }).click();

    // oidc-provider's development login page: any user name.
    await page.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
    await page.locator('input[name="login"]').fill('ada.lovelace');
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('button[type="submit"]').click();

    await page.waitForURL(`${stack.proxyUrl}/`);
    await expect.poll(() => page.locator('[data-claim="sub"]').textContent()).toBe('ada.lovelace');
    expect(await page.locator('[data-claim="iss"]').textContent()).toBe(stack.issuer);
    expect(await page.locator('[data-claim="aud"]').textContent()).toBe(stack.clientId);
    expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Signed in as ada.lovelace');
    expect(proxyCalls).toEqual(['/par', '/token']);

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).count()).toBe(1);
  }, 60_000);

  it('refuses a tampered callback: a state this tab did not send (login CSRF)', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.proxyUrl}/`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
    // An attacker's link lands on the callback with its own code and state.
    await page.goto(`${stack.proxyUrl}/callback?code=attacker-code&state=attacker-state`);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('invalid_state');
    expect(await page.locator('[data-claim="sub"]').count()).toBe(0);
  }, 60_000);
});
