import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/**
 * The one definition of how a handler becomes a Lambda bundle. The CDK constructs
 * (infra/proxy-functions.ts) translate it into NodejsFunction bundling options, and scripts that call
 * esbuild directly (the cold-start benchmark, infra/build.ts) spread it into `esbuild.build`, so both
 * measure and ship the same bytes. Plain data: importing it does not load aws-cdk-lib.
 */

export const FUNCTION_NAMES = ['par', 'token', 'jwks'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** The repository root (where package.json and package-lock.json are). */
export const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Entry files, relative to PROJECT_ROOT; each exports `handler`. */
export const FUNCTION_ENTRIES: Readonly<Record<FunctionName, string>> = {
  par: 'functions/par/handler.ts',
  token: 'functions/token/handler.ts',
  jwks: 'functions/jwks/handler.ts',
};

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
  // Linked source maps, shipped next to the bundle for decoding stack traces offline. The runtime does
  // not load them: NODE_OPTIONS=--enable-source-maps is deliberately not set, as it slows cold starts
  // and every stack trace. Sources are not embedded: the repository has them, and the asset stays small.
  sourcemap: true,
  sourcesContent: false,
  // ES module builds first: the AWS SDK's CJS builds are bigger and slower to import (field notes:
  // 512 KB -> 333 KB, 153 -> 104 ms for KMS + Secrets Manager).
  mainFields: ['module', 'main'],
  // Nothing external: the exact, tree-shaken SDK clients ship in the bundle instead of the runtime's copy.
  external: [] as string[],
  banner: { js: ESM_REQUIRE_BANNER },
  outExtension: { '.js': '.mjs' },
} as const satisfies BuildOptions;

/** esbuild options for one function, e.g. `await esbuild.build(esbuildOptionsFor('par', 'dist/par'))`. */
export function esbuildOptionsFor(name: FunctionName, outdir: string): BuildOptions {
  return {
    ...ESBUILD_OPTIONS,
    external: [...ESBUILD_OPTIONS.external],
    mainFields: [...ESBUILD_OPTIONS.mainFields],
    entryPoints: { index: fileURLToPath(new URL(FUNCTION_ENTRIES[name], new URL('../', import.meta.url))) },
    outdir,
    absWorkingDir: PROJECT_ROOT,
  };
}
