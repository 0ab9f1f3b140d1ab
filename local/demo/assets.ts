import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

/** The demo SPA's page and its script, bundled from TypeScript once at start. */
export async function demoAssets(): Promise<Record<string, { fetch: () => Response }>> {
  const html = await readFile(new URL('./index.html', import.meta.url), 'utf8');
  const bundle = await build({
    entryPoints: [new URL('./demo.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.text;
  const page = { fetch: () => new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } }) };
  return {
    '/': page,
    '/callback': page,
    '/demo.js': { fetch: () => new Response(script, { headers: { 'content-type': 'text/javascript; charset=utf-8' } }) },
  };
}
