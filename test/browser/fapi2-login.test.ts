import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { hasChromium, launchChromium } from '../helpers/chromium.ts';

/**
 * The bff demo in a real browser against the local FAPI 2.0 authorization server (local/fapi2.ts;
 * DPoP off, its own switch): the proxy asks for JARM, Chromium carries the one signed `response`
 * back to /callback, and the proxy verifies it before it redeems the code.
 */
describe.skipIf(!hasChromium)('the bff demo in Chromium under FAPI 2.0', () => {
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startLocalStack({ host: 'localhost', mode: 'bff', profile: 'fapi2' });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('signs in through a JARM response: the callback carries only the response JWT, the page shows the claims', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const callbacks: URL[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(`${stack.proxyUrl}/callback`)) callbacks.push(new URL(request.url()));
    });
    await page.goto(`${stack.proxyUrl}/`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
    await page.locator('input[name="login"]').fill('grace.hopper');
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('button[type="submit"]').click();
    await page.getByRole('heading', { level: 2 }).waitFor({ timeout: 15_000 });
    expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Signed in as grace.hopper');
    expect(callbacks.map((url) => [...url.searchParams.keys()])).toEqual([['response']]);
    expect(new URL(page.url()).search).toBe('');
    await context.close();
  });
});
