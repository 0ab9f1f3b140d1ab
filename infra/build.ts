import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { FUNCTIONS } from '../functions/manifest.ts';
import { failInOneLine } from './cli-failure.ts';
import { PROJECT_ROOT, esbuildOptionsFor } from './bundling.ts';

/**
 * `npm run build`: the Lambda bundles into dist/<function>/index.mjs with exactly the options the
 * CDK deploys (infra/bundling.ts), to inspect or measure them without synthesising the stack.
 * `npm run build -- --metafile` also writes dist/<function>/meta.json for esbuild's analyzer;
 * `npm run build -- --sourcemap` writes index.mjs.map beside each bundle, to decode a deployed
 * bundle's frames: "external", so index.mjs stays byte for byte what the CDK deploys (without a map).
 */
failInOneLine('npm run build', 'fix what it names and run npm run build again; npx tsc --noEmit lists type errors');
const metafile = process.argv.includes('--metafile');
const sourcemap = process.argv.includes('--sourcemap') ? ({ sourcemap: 'external', sourcesContent: false } as const) : {};
const outRoot = join(PROJECT_ROOT, 'dist');
for (const fn of FUNCTIONS) {
  const outdir = join(outRoot, fn.name);
  rmSync(outdir, { recursive: true, force: true });
  // esbuild's own report is many lines per error: its errors end the build as one line (cli-failure.ts).
  const result = await build({ ...esbuildOptionsFor(fn, outdir), ...sourcemap, metafile, logLevel: 'silent' });
  for (const { text, location } of result.warnings) console.warn(`${fn.name}: warning: ${location ? `${location.file}:${location.line}: ` : ''}${text}`);
  if (result.metafile !== undefined) {
    writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  }
  const kilobytes = statSync(join(outdir, 'index.mjs')).size / 1024;
  console.log(`${fn.name}: ${join('dist', fn.name, 'index.mjs')} (${kilobytes.toFixed(0)} KB)`);
}
