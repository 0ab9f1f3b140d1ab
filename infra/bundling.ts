import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
import type { FunctionSpec } from '../functions/manifest.ts';

/**
 * The one definition of how a handler becomes a Lambda bundle. The CDK constructs
 * (infra/proxy-functions.ts) translate it into NodejsFunction bundling options, and scripts that call
 * esbuild directly (the cold-start benchmark, infra/build.ts) spread it into `esbuild.build`, so both
 * measure and ship the same bytes. Plain data: importing it does not load aws-cdk-lib.
 */

/** The repository root (where package.json and package-lock.json are). */
export const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * ESM output keeps the SDK's ES module builds tree-shakeable; a few CommonJS dependencies still call
 * `require` for Node built-ins, which an ES module does not have, hence this banner.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __parProxyCreateRequire } from 'node:module'; const require = __parProxyCreateRequire(import.meta.url);";

export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The Lambda runtime, nodejs24.x; the benchmarks and tests run the same bundles on Node 24 too.
  target: 'node24',
  minify: true,
  // No source maps are shipped. They were (par 691, token 739, jwks 654, bff 874 KB) and nothing
  // used them: the runtime loads them only with NODE_OPTIONS=--enable-source-maps, which costs par
  // +11.5 ms (+6 %) of import and first invocation, median of 20 cold starts each (177.5 -> 189.0 ms;
  // docs/benchmarks.md has +8.4 ms), and the functions never log a stack trace to decode
  // (functions/app/observability.ts logs an exception's name only). To decode a minified frame,
  // rebuild the same commit with `npm run build -- --sourcemap`: esbuild's output is deterministic,
  // so its map fits the deployed bundle.
  sourcemap: false,
  // ES module builds first: the AWS SDK's CJS builds are bigger and slower to import (field notes:
  // 512 KB -> 333 KB, 153 -> 104 ms for KMS + Secrets Manager).
  mainFields: ['module', 'main'],
  // Nothing external: the exact, tree-shaken SDK clients ship in the bundle instead of the runtime's copy.
  external: [] as string[],
  banner: { js: ESM_REQUIRE_BANNER },
  outExtension: { '.js': '.mjs' },
} as const satisfies BuildOptions;

/** esbuild options for one function (functions/manifest.ts), e.g. `await esbuild.build(esbuildOptionsFor(PAR, 'dist/par'))`. */
export function esbuildOptionsFor(fn: FunctionSpec, outdir: string): BuildOptions {
  return {
    ...ESBUILD_OPTIONS,
    external: [...ESBUILD_OPTIONS.external],
    mainFields: [...ESBUILD_OPTIONS.mainFields],
    entryPoints: { index: join(PROJECT_ROOT, fn.entry) },
    outdir,
    absWorkingDir: PROJECT_ROOT,
  };
}
