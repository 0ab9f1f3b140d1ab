import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.ts';
import { hasChromium, launchChromium } from '../helpers/chromium.ts';
import { CLIENT_DIR, installClient, type InstalledClient } from '../helpers/client-package.ts';

/**
 * @par-proxy/client as an app imports it: built by its own build, laid out as npm installs it, and
 * loaded by Chromium through the import maps of client/README.md's framework-free pages, which the
 * local stack serves as written on the proxy's origin (only the relay page's proxyUrl placeholder
 * is replaced), beside the package's dist at /assets/par-proxy-client/, where the import maps point.
 */
const ASSETS = '/assets/par-proxy-client/';
const PLACEHOLDER_PROXY_URL = "'https://abc123.execute-api.eu-west-1.amazonaws.com'";

/** The README's ```html blocks, in order: the bff page, then the relay page. */
async function readmePages(): Promise<string[]> {
  const readme = await readFile(join(CLIENT_DIR, 'README.md'), 'utf8');
  return [...readme.matchAll(/```html\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

const response = (body: string, type: string) => new Response(body, { headers: { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' } });

/**
 * A page at each of `paths` and every file of the package's dist under ASSETS; `loaded` lists the
 * dist files the browser asked for. Each import map target must be the file the package's
 * `exports` names for its specifier, so the page loads what a bundler would.
 */
async function siteWith(client: InstalledClient, page: () => string, paths: readonly string[]) {
  const importMap = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(page())![1]!) as { imports: Record<string, string> };
  for (const [specifier, url] of Object.entries(importMap.imports)) {
    expect(url.startsWith(ASSETS)).toBe(true);
    expect(join(client.packageDir, 'dist', url.slice(ASSETS.length))).toBe(client.entryFile(`.${specifier.slice(client.manifest.name.length)}`));
  }
  const loaded: string[] = [];
  const dist = join(client.packageDir, 'dist');
  const files = (await readdir(dist, { recursive: true })).filter((name) => name.endsWith('.js') || name.endsWith('.map'));
  const assets: NonNullable<LocalStackOptions['assets']> = Object.fromEntries([
    ...paths.map((path) => [path, { fetch: () => response(page(), 'text/html') }]),
    ...(await Promise.all(
      files.map(async (name) => {
        const body = await readFile(join(dist, name), 'utf8');
        return [`${ASSETS}${name}`, { fetch: () => (loaded.push(name), response(body, name.endsWith('.js') ? 'text/javascript' : 'application/json')) }];
      }),
    )),
  ]);
  return { assets, loaded };
}

async function logInAtProvider(page: Page, issuer: string, user: string): Promise<void> {
  await page.waitForURL(new RegExp(`^${issuer}/interaction/`));
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
}

function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

describe.skipIf(!hasChromium)('@par-proxy/client, built and imported as a package, in Chromium', () => {
  let client: InstalledClient;
  let browser: Browser;
  let pages: string[];

  beforeAll(async () => {
    [client, browser, pages] = await Promise.all([installClient(), launchChromium(), readmePages()]);
    expect(pages).toHaveLength(2);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await client?.remove();
  });

  describe('bff mode: the README page', () => {
    let stack: LocalStack;
    let loaded: string[];
    beforeAll(async () => {
      const site = await siteWith(client, () => pages[0]!, ['/app']);
      loaded = site.loaded;
      stack = await startLocalStack({ host: 'localhost', mode: 'bff', assets: site.assets });
    }, 60_000);
    afterAll(() => stack?.close());

    it('signs in, calls the API through the proxy and logs out, loading only @par-proxy/client/bff', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors = pageErrors(page);
      await page.goto(`${stack.proxyUrl}/app`);
      await expect.poll(() => page.getByRole('status').textContent()).toBe('Signed out');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await logInAtProvider(page, stack.issuer, 'ada.lovelace');
      // The proxy's /callback redeems the code and sends the browser back to returnTo.
      await page.waitForURL(`${stack.proxyUrl}/app`);
      await expect.poll(() => page.getByRole('status').textContent(), { timeout: 10_000 }).toBe('Signed in as ada.lovelace');

      await page.getByRole('button', { name: 'Call the API' }).click();
      await expect.poll(() => page.locator('#answer').textContent()).toContain('ada.lovelace');

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL(new RegExp(`^${stack.issuer}/`));
      expect((await context.cookies()).filter((cookie) => cookie.name.startsWith('__Host-bff'))).toEqual([]);
      await page.goto(`${stack.proxyUrl}/app`);
      await expect.poll(() => page.getByRole('status').textContent()).toBe('Signed out');

      expect(errors).toEqual([]);
      expect(new Set(loaded)).toEqual(new Set(['bff.js']));
      await context.close();
    });
  });

  describe('relay mode: the README page', () => {
    let stack: LocalStack;
    let loaded: string[];
    beforeAll(async () => {
      expect(pages[1]).toContain(PLACEHOLDER_PROXY_URL);
      // The page names the proxy; the stack's URL is known once it listens, before any page is served.
      const site = await siteWith(client, () => pages[1]!.replace(PLACEHOLDER_PROXY_URL, JSON.stringify(stack?.proxyUrl ?? '')), ['/app', '/callback']);
      loaded = site.loaded;
      stack = await startLocalStack({ host: 'localhost', assets: site.assets });
    }, 60_000);
    afterAll(() => stack?.close());

    it('signs in: completeLogin on the redirect URI checks the response and the ID token, loading only @par-proxy/client/relay', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors = pageErrors(page);
      await page.goto(`${stack.proxyUrl}/app`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await logInAtProvider(page, stack.issuer, 'grace.hopper');
      await expect.poll(() => page.getByRole('status').textContent(), { timeout: 10_000 }).toBe('Signed in as grace.hopper');
      // The code left the address bar once redeemed.
      expect(page.url()).toBe(`${stack.proxyUrl}/`);
      expect(errors).toEqual([]);
      expect(new Set(loaded)).toEqual(new Set(['relay.js']));
      await context.close();
    });
  });
});
