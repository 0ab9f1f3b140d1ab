import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionSpec } from '../functions/manifest.ts';
import { esbuildOptionsFor } from '../infra/bundling.ts';

/**
 * Size guard (issue 6): each function's bundle, built with exactly the options the CDK deploys
 * (infra/bundling.ts), gzipped with zlib at level 9, must stay within its budget. Sizes are
 * deterministic for a given lockfile, so this is not a timing test.
 *
 * Budgets (`gzipBudgetKiB` in functions/manifest.ts): the target of at most 1.15 x the
 * same-run floor bundle (bench/floors/), whose sizes are deterministic too, rounded down, and about
 * 5 % above what the functions measured when each was set: room for dependency patch releases, not
 * for a new dependency or the SDK's CommonJS build. The measured figures and the floors are in the
 * README table ("Cold start and per-request cost") and docs/benchmarks.md; when a change moves a size
 * on purpose, rerun `npm run bench` and update both.
 */
const KIB = 1024;

async function gzipBytes(fn: FunctionSpec): Promise<{ minified: number; gzip: number }> {
  // In memory: nothing is written, so concurrent runs and other engineers' dist/ are untouched.
  const result = await build({ ...esbuildOptionsFor(fn, `/nonexistent/${fn.name}`), write: false, logLevel: 'silent' });
  const bundle = result.outputFiles.find((file) => file.path.endsWith('.mjs'));
  if (bundle === undefined) throw new Error(`${fn.name}: esbuild produced no .mjs`);
  return { minified: bundle.contents.length, gzip: gzipSync(bundle.contents, { level: 9 }).length };
}

describe('bundle size budgets (gzip level 9)', () => {
  it.each(FUNCTIONS.map((fn) => [fn.name, fn] as const))('%s stays within its gzip budget', async (name, fn) => {
    const { minified, gzip } = await gzipBytes(fn);
    const budget = fn.gzipBudgetKiB * KIB;
    console.info(`${name}: ${(minified / KIB).toFixed(1)} KiB minified, ${(gzip / KIB).toFixed(1)} KiB gzip, budget ${(budget / KIB).toFixed(0)} KiB`);
    expect(gzip, `${name} gzip bundle is ${(gzip / KIB).toFixed(1)} KiB, over its ${(budget / KIB).toFixed(0)} KiB budget`).toBeLessThanOrEqual(budget);
  }, 30_000);
});
