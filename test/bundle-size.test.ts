import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, esbuildOptionsFor, type FunctionName } from '../infra/bundling.ts';

/**
 * Size guard (issue 6): each function's bundle, built with exactly the options the CDK deploys
 * (infra/bundling.ts), gzipped with zlib at level 9, must stay within its budget. Sizes are
 * deterministic for a given lockfile, so this is not a timing test.
 *
 * Budgets: the target of at most 1.15 x the same-run floor bundle (bench/floors/), whose
 * sizes are deterministic too, rounded down, and about 5 % above what the functions measure now:
 * room for dependency patch releases, not for a new dependency or the SDK's CommonJS build. The
 * measured figures and the floors are in the README table ("Cold start and per-request cost") and
 * docs/benchmarks.md; when a change moves a size on purpose, rerun `npm run bench` and update both.
 */
const KIB = 1024;
const GZIP_BUDGET_BYTES: Readonly<Record<FunctionName, number>> = {
  par: 123 * KIB, // measured 117.5 KiB; floor 107.1 KiB (x 1.15 = 123.2)
  token: 118 * KIB, // measured 116.2 KiB; floor 103.4 KiB (x 1.15 = 118.9)
  jwks: 115 * KIB, // measured 109.5 KiB; floor 105.1 KiB (x 1.15 = 120.9)
};

async function gzipBytes(name: FunctionName): Promise<{ minified: number; gzip: number }> {
  // In memory: nothing is written, so concurrent runs and other engineers' dist/ are untouched.
  const result = await build({ ...esbuildOptionsFor(name, `/nonexistent/${name}`), write: false, logLevel: 'silent' });
  const bundle = result.outputFiles.find((file) => file.path.endsWith('.mjs'));
  if (bundle === undefined) throw new Error(`${name}: esbuild produced no .mjs`);
  return { minified: bundle.contents.length, gzip: gzipSync(bundle.contents, { level: 9 }).length };
}

describe('bundle size budgets (gzip level 9)', () => {
  it.each(FUNCTION_NAMES)('%s stays within its gzip budget', async (name) => {
    const { minified, gzip } = await gzipBytes(name);
    const budget = GZIP_BUDGET_BYTES[name];
    console.info(`${name}: ${(minified / KIB).toFixed(1)} KiB minified, ${(gzip / KIB).toFixed(1)} KiB gzip, budget ${(budget / KIB).toFixed(0)} KiB`);
    expect(gzip, `${name} gzip bundle is ${(gzip / KIB).toFixed(1)} KiB, over its ${(budget / KIB).toFixed(0)} KiB budget`).toBeLessThanOrEqual(budget);
  }, 30_000);
});
