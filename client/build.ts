import { execFile } from 'node:child_process';
import { copyFile, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

/**
 * The @par-proxy/client package's build (`npm run build:client`, and its prepack): one ESM bundle
 * per entry, so an app loads only its mode's code, and the type declarations tsc emits from the
 * sources. Nothing from node_modules may end up in a bundle: the package has no dependencies.
 */
const CLIENT_DIR = dirname(fileURLToPath(import.meta.url));
/** The package's entry points, as its exports name them: `@par-proxy/client/bff`, `/relay`. */
export const ENTRIES = { bff: 'bff.ts', relay: 'relay.ts' } as const;

export async function buildClient(outDir = join(CLIENT_DIR, 'dist')): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  const result = await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, join(CLIENT_DIR, file)])),
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  const foreign = Object.keys(result.metafile.inputs).filter((input) => relative(CLIENT_DIR, input).startsWith('..'));
  if (foreign.length > 0) throw new Error(`the client bundles code from outside client/: ${foreign.join(', ')}`);
  // The TypeScript the repository already runs, with the same Node: no npx lookup.
  const tsc = fileURLToPath(import.meta.resolve('typescript/bin/tsc'));
  await promisify(execFile)(process.execPath, [tsc, '-p', join(CLIENT_DIR, 'tsconfig.json'), '--outDir', join(outDir, 'types')]);
  // Apache-2.0 4(a): a copy of the licence travels with the code. npm packs a LICENSE only from the
  // package's own folder, which has none: the repository's goes into dist, which `files` ships.
  await copyFile(join(CLIENT_DIR, '..', 'LICENSE'), join(outDir, 'LICENSE'));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildClient(process.argv[2]);
  console.log(`client: ${Object.keys(ENTRIES).map((name) => `dist/${name}.js`).join(', ')}, dist/types/*.d.ts`);
}
