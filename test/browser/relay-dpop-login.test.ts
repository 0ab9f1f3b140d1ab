import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { hasChromium, launchChromium } from '../helpers/chromium.ts';

/**
 * The relay demo with DPOP=true (RFC 9449) in real Chromium: the key WebCrypto makes is not
 * extractable and lives in IndexedDB, the login completes with a DPoP-bound token after the one
 * use_dpop_nonce retry, which needs CORS to expose DPoP-Nonce to the page.
 */
describe.skipIf(!hasChromium)('the relay demo with DPoP in Chromium', () => {
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startLocalStack({ host: 'localhost', dpop: true });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('signs in with a non-extractable P-256 key from IndexedDB; /token retries once with the nonce and gets a DPoP token', async () => {
    const page = await browser.newPage();
    const tokenCalls: { dpop: string | undefined; url: string }[] = [];
    const urls: string[] = [];
    page.on('request', (request) => {
      urls.push(request.url());
      const url = new URL(request.url());
      if (url.origin === stack.proxyUrl && url.pathname === '/token' && request.method() === 'POST') {
        tokenCalls.push({ dpop: request.headers().dpop, url: request.url() });
      }
    });
    await page.goto(`${stack.proxyUrl}/`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${stack.issuer}/interaction/`));
    await page.locator('input[name="login"]').fill('margaret.hamilton');
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('button[type="submit"]').click();
    await page.waitForURL(`${stack.proxyUrl}/`);
    await expect.poll(() => page.locator('[data-claim="sub"]').textContent(), { timeout: 15_000 }).toBe('margaret.hamilton');
    expect(await page.locator('[data-token-type]').getAttribute('data-token-type')).toBe('DPoP');
    // RFC 9449 8: the first proof carries no nonce; the page read DPoP-Nonce (exposed by CORS) and retried once.
    expect(tokenCalls).toHaveLength(2);
    for (const call of tokenCalls) expect(call.dpop).toMatch(/^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
    const [first, second] = tokenCalls.map((call) => JSON.parse(Buffer.from(call.dpop!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>);
    expect(first!.nonce).toBeUndefined();
    expect(second!.nonce).toEqual(expect.any(String));
    expect(second!.htu).toBe(`${stack.issuer}/token`);

    // The key in IndexedDB: the private half is not extractable, exportKey refuses it; the public half is what dpop_jkt names.
    const key = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('par-proxy');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const pair = await new Promise<CryptoKeyPair>((resolve, reject) => {
        const get = db.transaction('dpop').objectStore('dpop').get('key');
        get.onsuccess = () => resolve(get.result as CryptoKeyPair);
        get.onerror = () => reject(get.error);
      });
      const exported = await crypto.subtle.exportKey('jwk', pair.privateKey).then(
        () => 'exported',
        (error: unknown) => (error as Error).name,
      );
      return { extractable: pair.privateKey.extractable, algorithm: pair.privateKey.algorithm, exported };
    });
    expect(key).toEqual({ extractable: false, algorithm: { name: 'ECDSA', namedCurve: 'P-256' }, exported: 'InvalidAccessError' });
    // No proof or token in any URL the page loaded.
    for (const url of urls) expect(url).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(urls.some((url) => url.includes('access_token') || url.includes('refresh_token'))).toBe(false);
  }, 60_000);
});
