import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

/** The demo SPAs' pages and scripts, bundled from TypeScript once at start. */
type Assets = Record<string, { fetch: () => Response }>;

const file = (name: string) => readFile(new URL(name, import.meta.url), 'utf8');

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [new URL(entry, import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

const asset = (body: string, type: string, headers: Record<string, string> = {}) => ({
  fetch: () => new Response(body, { headers: { 'content-type': `${type}; charset=utf-8`, ...headers } }),
});
const NO_STORE = { 'cache-control': 'no-store' };

/** The relay demo: its page at / and at the redirect URI /callback, where it redeems the code; told whether the proxy uses DPoP. */
export async function demoAssets(options: { readonly dpop?: boolean } = {}): Promise<Assets> {
  const html = (await file('./index.html')).replace('<meta name="par-dpop" content="false">', `<meta name="par-dpop" content="${options.dpop === true}">`);
  const page = asset(html, 'text/html', NO_STORE);
  return {
    '/': page,
    '/callback': page,
    '/demo.js': asset(await bundle('./demo.ts'), 'text/javascript'),
    '/demo.css': asset(await file('./demo.css'), 'text/css'),
  };
}

/**
 * The bff demo: its page at / only. /callback is the proxy's own route there, as are /par,
 * /session, /logout and /api/..., all under the proxy's BASE_PATH, which the page is told.
 */
export async function bffDemoAssets(options: { readonly basePath?: string } = {}): Promise<Assets> {
  const basePath = (options.basePath ?? '').replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
  const html = (await file('./bff.html')).replace('<meta name="bff-base-path" content="">', `<meta name="bff-base-path" content="${basePath}">`);
  return {
    '/': asset(html, 'text/html', NO_STORE),
    '/bff-demo.js': asset(await bundle('./bff.ts'), 'text/javascript'),
    '/demo.css': asset(await file('./demo.css'), 'text/css'),
  };
}
