import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { hasChromium, launchChromium } from '../helpers/chromium.ts';

/**
 * The bff demo in a real browser against the local FAPI 2.0 authorization server (local/fapi2.ts)
 * with DPoP, which the profile implies: the proxy asks for JARM, Chromium carries the one signed
 * `response` back to /callback, the proxy verifies it before it redeems the code with a DPoP proof,
 * and "Call the API" reaches the DPoP-checking resource server with the bound token and a proof.
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

  it('signs in through a JARM response: the callback carries only the response JWT, the page shows the claims, the API gets DPoP', async () => {
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

    // RFC 9449 7: the API took the token only as DPoP, with a proof of the login's key (it refuses Bearer).
    stack.resourceServer.reset();
    await page.getByRole('button', { name: 'Call the API' }).click();
    await expect.poll(() => page.locator('[data-api-answer]').textContent()).toContain('grace.hopper');
    const answered = stack.resourceServer.requests.at(-1)!;
    expect(answered.headers.authorization).toMatch(/^DPoP /);
    expect(JSON.parse(Buffer.from(String(answered.headers.dpop).split('.')[0]!, 'base64url').toString())).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
    await context.close();
  });
});
