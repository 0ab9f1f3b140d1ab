import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { FUNCTIONS, type FunctionName } from '../../functions/manifest.ts';
import { ESBUILD_OPTIONS, PROJECT_ROOT, esbuildOptionsFor } from '../../infra/bundling.ts';

/**
 * Builds everything the benchmark runs into bench/.out (git-ignored): the functions with
 * exactly the CDK's options (`esbuildOptionsFor`), and the floors, hello world and throughput servers
 * with the same `ESBUILD_OPTIONS`. The child runners are plain ES modules.
 */
export const BENCH_DIR = fileURLToPath(new URL('../', import.meta.url));
export const OUT_DIR = join(BENCH_DIR, '.out');

export const FLOORS = {
  'par-floor': 'floors/par-floor.ts',
  'token-floor': 'floors/token-floor.ts',
  'jwks-floor': 'floors/jwks-floor.ts',
  'bff-floor': 'floors/bff-floor.ts',
  hello: 'floors/hello.ts',
  // The bff split by route group (bench/split/): what four functions would deploy instead of one.
  'split-par': 'split/par.ts',
  'split-callback': 'split/callback.ts',
  'split-session': 'split/session.ts',
  'split-api': 'split/api.ts',
  'server-par': 'servers/par.ts',
  'server-par-floor': 'servers/par-floor.ts',
  'server-hello': 'servers/hello.ts',
} as const;
export type FloorName = keyof typeof FLOORS;
export type BundleName = FunctionName | FloorName;

export interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly url: string;
  /** Minified bytes of index.mjs (the profiler's source map next to it is neither deployed nor counted). */
  readonly bytes: number;
  /** zlib gzip, level 9, of index.mjs. */
  readonly gzipBytes: number;
}

/** gzip as the size guard and the README count it: zlib level 9. */
export const gzipSize = (contents: Uint8Array): number => gzipSync(contents, { level: 9 }).length;

/** The CDK's options for an arbitrary entry (floors, servers, experiment copies of the functions). */
export function optionsForEntry(entry: string, outdir: string): BuildOptions {
  return {
    ...ESBUILD_OPTIONS,
    external: [...ESBUILD_OPTIONS.external],
    mainFields: [...ESBUILD_OPTIONS.mainFields],
    entryPoints: { index: entry },
    outdir,
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'warning',
  };
}

async function buildWith(name: string, options: BuildOptions): Promise<Bundle> {
  const outdir = options.outdir!;
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  // The CPU profiles (BENCH_PROFILE, bench/profile.ts) read a map, which the deployed bundles do not
  // ship: an external one leaves index.mjs byte for byte the deployed bytes.
  await build({ ...options, sourcemap: 'external', sourcesContent: false });
  const file = join(outdir, 'index.mjs');
  const contents = readFileSync(file);
  return { name, file, url: pathToFileURL(file).href, bytes: contents.length, gzipBytes: gzipSize(contents) };
}

export function buildFunction(name: FunctionName, root = join(OUT_DIR, 'bundles')): Promise<Bundle> {
  const fn = FUNCTIONS.find((candidate) => candidate.name === name)!;
  return buildWith(name, { ...esbuildOptionsFor(fn, join(root, name)), logLevel: 'warning' });
}

export function buildEntry(name: string, entry: string, root = join(OUT_DIR, 'bundles')): Promise<Bundle> {
  return buildWith(name, optionsForEntry(entry, join(root, name)));
}

export interface Children {
  readonly cold: string;
  readonly warm: string;
}

/** The child runners: tiny, so that they add nothing but Node's own start to what they measure. */
export async function buildChildren(): Promise<Children> {
  const outdir = join(OUT_DIR, 'child');
  await build({
    entryPoints: { cold: join(BENCH_DIR, 'child/cold.ts'), warm: join(BENCH_DIR, 'child/warm.ts') },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    outdir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
  return { cold: join(outdir, 'cold.mjs'), warm: join(outdir, 'warm.mjs') };
}

export type Bundles = Record<BundleName, Bundle>;

export async function buildAll(): Promise<Bundles> {
  const entries = [
    ...FUNCTIONS.map((fn) => buildFunction(fn.name)),
    ...Object.entries(FLOORS).map(([name, entry]) => buildEntry(name, join(BENCH_DIR, entry))),
  ];
  const bundles = await Promise.all(entries);
  return Object.fromEntries(bundles.map((bundle) => [bundle.name, bundle])) as Bundles;
}
