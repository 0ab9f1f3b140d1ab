import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, JWKS, PAR, TOKEN, type FunctionName, type Mode } from '../../functions/manifest.ts';
import { ESM_REQUIRE_BANNER, esbuildOptionsFor } from '../../infra/bundling.ts';
import { BFF_CONTEXT, buildApp, functionEnv, functionProps, resolvedEnv, synthesize, type Synthesized } from './helpers.ts';

/**
 * One real synthesis with bundling per mode (relay: par, token, jwks; bff: bff, jwks): the CDK runs
 * the project's esbuild (no Docker) for every function. Slow (seconds), so these are the only ones;
 * every other infra test skips bundling. Each function is checked in the first mode that deploys it,
 * with the environment that stack sets.
 */
describe('real synthesis with esbuild bundling', () => {
  const MODES: Record<Mode, Record<string, unknown>> = { relay: {}, bff: { ...BFF_CONTEXT } };
  const synths = new Map<Mode, { outdir: string; synth: Synthesized }>();

  beforeAll(() => {
    for (const [mode, context] of Object.entries(MODES) as [Mode, Record<string, unknown>][]) {
      const outdir = mkdtempSync(join(tmpdir(), `par-proxy-cdk-${mode}-`));
      synths.set(mode, { outdir, synth: synthesize(context, { bundle: true, outdir }) });
    }
  }, 180_000);

  afterAll(() => {
    for (const { outdir } of synths.values()) rmSync(outdir, { recursive: true, force: true });
  });

  /** The stack of the first mode that deploys `name`. */
  function deployedIn(name: FunctionName): { outdir: string; synth: Synthesized } {
    return synths.get(FUNCTIONS.find((fn) => fn.name === name)!.modes[0])!;
  }

  function bundleDir(name: FunctionName): string {
    const { outdir, synth } = deployedIn(name);
    const key = (functionProps(synth.template, name).Code as { S3Key: string }).S3Key;
    return join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
  }

  describe.each(FUNCTIONS.map((fn) => fn.name))('%s', (name) => {
    it('is a minified ESM bundle with the SDK inside, and no source map', () => {
      const dir = bundleDir(name);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      // infra/bundling.ts: maps are not shipped, so the asset holds the bundle alone and points to no map.
      expect(readdirSync(dir, { recursive: true }).map(String)).toEqual(['index.mjs']);
      expect(code).not.toContain('sourceMappingURL');
      expect(code.slice(0, ESM_REQUIRE_BANNER.length)).toBe(ESM_REQUIRE_BANNER);
      // Only Node built-ins are imported: the AWS SDK, hono, jose... are all bundled.
      const statements = /(?:^|[;}])\s*import\s*(?:[\w*{][^;"']*?from\s*)?["']([^"']+)["']/g;
      const specifiers = [...code.matchAll(statements)].map((match) => match[1]!);
      expect(specifiers).toContain('node:module'); // the banner's: the pattern finds imports
      expect(specifiers.filter((specifier) => !specifier.startsWith('node:'))).toEqual([]);
      // Minified: long lines (only template literals keep their newlines). Booleans, to keep failures short.
      expect(code.length / code.split('\n').length > 300).toBe(true);
      const kilobytes = statSync(join(dir, 'index.mjs')).size / 1024;
      console.info(`${name}: index.mjs ${kilobytes.toFixed(0)} KB`);
      expect(kilobytes).toBeLessThan(2048);
    });

    it('loads on Node with the environment the stack sets', () => {
      const env = resolvedEnv(functionEnv(deployedIn(name).synth.template, name));
      // Nothing to enable: no map is shipped, and --enable-source-maps would slow every cold start.
      expect(env.NODE_OPTIONS ?? '').not.toContain('source-maps');
      const url = pathToFileURL(join(bundleDir(name), 'index.mjs')).href;
      // A child process, so the module's cold-start code runs with exactly that environment. No
      // request is made: loading builds the clients, it does not call them.
      const child = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(url)}); if (typeof m.handler !== 'function') process.exit(3);`],
        { env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', ...env }, encoding: 'utf8', timeout: 30_000 },
      );
      expect(child.stderr.trim()).toBe('');
      expect(child.status).toBe(0);
    });
  });

  it('matches, byte for byte, what esbuild builds from infra/bundling.ts (the benchmark\'s bundle)', async () => {
    const direct = mkdtempSync(join(tmpdir(), 'par-proxy-esbuild-'));
    try {
      await build({ ...esbuildOptionsFor(PAR, direct), logLevel: 'silent' });
      const same = readFileSync(join(direct, 'index.mjs')).equals(readFileSync(join(bundleDir('par'), 'index.mjs')));
      expect(same).toBe(true);
      // `npm run build -- --sourcemap` (an external map, to decode deployed frames) leaves the bundle's bytes alone.
      const mapped = await build({ ...esbuildOptionsFor(PAR, direct), sourcemap: 'external', sourcesContent: false, write: false, logLevel: 'silent' });
      const bundle = mapped.outputFiles.find((file) => file.path.endsWith('index.mjs'))!;
      expect(mapped.outputFiles.map((file) => file.path.slice(direct.length)).sort()).toEqual(['/index.mjs', '/index.mjs.map']);
      expect(Buffer.from(bundle.contents).equals(readFileSync(join(direct, 'index.mjs')))).toBe(true);
    } finally {
      rmSync(direct, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('a function whose handler is gone', () => {
  const gone = { ...TOKEN, entry: 'functions/token/gone.ts' };

  it('fails synthesis: NodejsFunction wants its entry even when bundling is skipped', () => {
    expect(() => buildApp({}, { functions: [PAR, gone, JWKS] })).toThrow(/functions\/token\/gone\.ts/);
  });

  it('fails the bundle build (infra/build.ts, the size guard, the benchmark)', async () => {
    await expect(build({ ...esbuildOptionsFor(gone, '/nonexistent/gone'), write: false, logLevel: 'silent' })).rejects.toThrow(/gone\.ts/);
  });
});
