import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { FUNCTIONS } from '../functions/manifest.ts';
import { PROJECT_ROOT, esbuildOptionsFor } from './bundling.ts';

/**
 * `npm run build`: the Lambda bundles into dist/<function>/index.mjs with exactly the options the
 * CDK deploys (infra/bundling.ts), to inspect or measure them without synthesising the stack.
 * `npm run build -- --metafile` also writes dist/<function>/meta.json for esbuild's analyzer.
 */
const metafile = process.argv.includes('--metafile');
const outRoot = join(PROJECT_ROOT, 'dist');
for (const fn of FUNCTIONS) {
  const outdir = join(outRoot, fn.name);
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({ ...esbuildOptionsFor(fn, outdir), metafile, logLevel: 'warning' });
  if (result.metafile !== undefined) {
    writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  }
  const kilobytes = statSync(join(outdir, 'index.mjs')).size / 1024;
  console.log(`${fn.name}: ${join('dist', fn.name, 'index.mjs')} (${kilobytes.toFixed(0)} KB)`);
}
