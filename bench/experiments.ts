import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../infra/bundling.ts';
import { BENCH_DIR, buildChildren, buildEntry, type Bundle } from './lib/build.ts';
import { coldStarts, type ColdSample } from './lib/cold.ts';
import { EVENTS, EXPECTED_STATUS, FIXED_KID, ORIGIN, startFakes } from './lib/fakes.ts';
import { load, startServer, type ThroughputSample, type ThroughputTarget } from './lib/throughput.ts';
import { kib, median, pairedRatio, quantile, ratio, spread, table } from './lib/stats.ts';
import { WarmChild, warmRounds } from './lib/warm.ts';
import { VARIANTS, type Variant } from './variants.ts';

/**
 * A/B measurements of candidate optimisations, never touching functions/: each variant is a copy of
 * functions/ under bench/.experiments/<variant>/ (git-ignored) with a few textual patches, bundled
 * with the CDK's options and measured beside the unpatched copy and the floor, in the same run.
 *
 *   npx tsx bench/experiments.ts [variant ...]      warm CPU per invocation (par, or the variant's function)
 *   EXPERIMENT_COLD=1 npx tsx bench/experiments.ts   also cold start (EXPERIMENT_WARM=0: cold only)
 *   EXPERIMENT_THROUGHPUT=1                          also throughput of the par variants (autocannon)
 *   EXPERIMENT_ROUNDS=20 EXPERIMENT_INVOCATIONS=500 EXPERIMENT_PROCESSES=2  (the defaults; processes per bundle)
 *
 * A patch whose text is no longer in functions/ (someone changed the code) is reported and its
 * variant skipped: the figures always describe the code as it is.
 */
const EXPERIMENTS_DIR = join(BENCH_DIR, '.experiments');
const ROUNDS = Number(process.env.EXPERIMENT_ROUNDS ?? 20);
const INVOCATIONS = Number(process.env.EXPERIMENT_INVOCATIONS ?? 500);
const WARMUP = Number(process.env.EXPERIMENT_WARMUP ?? 1000);
const PROCESSES = Number(process.env.EXPERIMENT_PROCESSES ?? 2);
/** EXPERIMENT_PROFILE=1: the first process of each bundle writes bench/.out/profiles/exp-<bundle>.cpuprofile. */
const PROFILE_DIR = process.env.EXPERIMENT_PROFILE === '1' ? join(BENCH_DIR, '.out', 'profiles') : undefined;
const COLD = process.env.EXPERIMENT_COLD === '1';
const WARM = process.env.EXPERIMENT_WARM !== '0';
const COLD_PROCESSES = Number(process.env.EXPERIMENT_COLD_PROCESSES ?? 16);
/** EXPERIMENT_THROUGHPUT=1: par variants also served with @hono/node-server and loaded with autocannon. */
const THROUGHPUT = process.env.EXPERIMENT_THROUGHPUT === '1';

type FunctionName = 'par' | 'token' | 'jwks';

/** Copies functions/ and applies the variant's patches; undefined when a patch no longer applies. */
function materialize(variant: Variant): string | undefined {
  const root = join(EXPERIMENTS_DIR, variant.name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(join(PROJECT_ROOT, 'functions'), join(root, 'functions'), { recursive: true });
  for (const patch of variant.patches) {
    const file = join(root, patch.file);
    if ('content' in patch) {
      writeFileSync(file, patch.content);
      continue;
    }
    const source = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (!source.includes(patch.from)) {
      console.warn(`${variant.name}: skipped, ${patch.file} no longer contains ${JSON.stringify(patch.from.slice(0, 80))}`);
      return undefined;
    }
    writeFileSync(file, patch.all === true ? source.split(patch.from).join(patch.to) : source.replace(patch.from, patch.to));
  }
  return root;
}

const requested = process.argv.slice(2);
const variants = [{ name: 'baseline', description: 'functions/ as it is', patches: [] } as Variant, ...VARIANTS.filter((v) => requested.length === 0 || requested.includes(v.name))];
const fn = (variant: Variant): FunctionName => variant.function ?? 'par';
const functionsUsed = [...new Set(variants.slice(1).map(fn))];
if (functionsUsed.length === 0) functionsUsed.push('par');

const fakes = await startFakes();
const children = await buildChildren();
const floorEnv = {
  ...fakes.env,
  SIGNING_KID: FIXED_KID,
  PAR_ENDPOINT: fakes.endpoints.PAR_ENDPOINT,
  AUTHORIZATION_ENDPOINT: fakes.endpoints.AUTHORIZATION_ENDPOINT,
  TOKEN_ENDPOINT: fakes.endpoints.TOKEN_ENDPOINT,
};

interface Built {
  readonly label: string;
  readonly variant: Variant;
  readonly fn: FunctionName;
  readonly bundle: Bundle;
  /** The par app behind @hono/node-server, for EXPERIMENT_THROUGHPUT. */
  readonly server?: Bundle;
}
const built: Built[] = [];
const outRoot = join(EXPERIMENTS_DIR, '.bundles');
for (const name of functionsUsed) {
  built.push({
    label: `${name}-floor`,
    variant: variants[0]!,
    fn: name,
    bundle: await buildEntry(`${name}-floor`, join(BENCH_DIR, `floors/${name}-floor.ts`), outRoot),
    ...(THROUGHPUT && name === 'par' ? { server: await buildEntry('server-par-floor', join(BENCH_DIR, 'servers/par-floor.ts'), outRoot) } : {}),
  });
}
for (const variant of variants) {
  const root = materialize(variant);
  if (root === undefined) continue;
  const names = variant.name === 'baseline' ? functionsUsed : [fn(variant)];
  for (const name of names) {
    const label = `${name}:${variant.name}`;
    let server: Bundle | undefined;
    if (THROUGHPUT && name === 'par') {
      const entry = join(root, 'server.ts');
      const serve = JSON.stringify(join(BENCH_DIR, 'servers/serve.ts'));
      writeFileSync(entry, `import { parAppFromEnv } from './functions/par/wiring.ts';\nimport { serve } from ${serve};\nserve(parAppFromEnv(process.env));\n`);
      server = await buildEntry(`server-${label.replace(':', '-')}`, entry, outRoot);
    }
    built.push({ label, variant, fn: name, bundle: await buildEntry(label.replace(':', '-'), join(root, `functions/${name}/handler.ts`), outRoot), ...(server === undefined ? {} : { server }) });
  }
}

try {
  const sizeRows = [['variant', 'what', 'minified', 'gzip', 'gzip vs baseline', 'gzip vs floor']];
  for (const b of built) {
    const base = built.find((x) => x.label === `${b.fn}:baseline`)!.bundle;
    const floor = built.find((x) => x.label === `${b.fn}-floor`)!.bundle;
    sizeRows.push([b.label, b.variant.description, kib(b.bundle.bytes), kib(b.bundle.gzipBytes), `${(((b.bundle.gzipBytes - base.gzipBytes) / 1024)).toFixed(1)} KiB`, ratio(b.bundle.gzipBytes, floor.gzipBytes)]);
  }
  console.log(`\n${table(sizeRows)}\n`);

  // Warm: PROCESSES children per bundle, rounds interleaved with a rotating order.
  if (WARM) await warm();
  if (COLD) {
    const coldVariants = built.map((b) => ({
      label: b.label,
      bundle: b.bundle,
      event: EVENTS[b.fn],
      env: b.label.endsWith('-floor') ? floorEnv : { ...fakes.env, ...(b.variant.env ?? {}) },
      expectedStatus: EXPECTED_STATUS[b.fn],
    }));
    const samples = await coldStarts(children.cold, coldVariants, COLD_PROCESSES, () => fakes.resetRecords());
    const cost = (s: ColdSample) => s.importMs + s.firstMs;
    const coldMed = (label: string) => median(samples.get(label)!.map(cost));
    const coldRows = [['variant', 'import+first ms', 'import ms', 'first ms', 'vs baseline', 'vs floor']];
    for (const b of built) {
      const s = samples.get(b.label)!;
      coldRows.push([
        b.label,
        spread(s.map(cost)),
        median(s.map((x) => x.importMs)).toFixed(1),
        median(s.map((x) => x.firstMs)).toFixed(1),
        ratio(coldMed(b.label), coldMed(`${b.fn}:baseline`)),
        ratio(coldMed(b.label), coldMed(`${b.fn}-floor`)),
      ]);
    }
    console.log(`cold: ${COLD_PROCESSES} processes each, interleaved, median (IQR); default configuration (derived kid, discovery) unless the variant sets env\n${table(coldRows)}\n`);
  }
  if (THROUGHPUT) await throughput();
} finally {
  await fakes.close();
}

async function throughput(): Promise<void> {
  const servers = built.filter((b) => b.server !== undefined);
  const samples = new Map<string, ThroughputSample[]>(servers.map((b) => [b.label, []]));
  for (let pass = 0; pass < 3; pass += 1) {
    for (const b of servers) {
      const target: ThroughputTarget = {
        label: b.label,
        bundle: b.server!,
        env: b.label.endsWith('-floor') ? floorEnv : { ...fakes.env, ...(b.variant.env ?? {}) },
        path: '/par',
        body: EVENTS.par.body ?? '',
        headers: { 'content-type': 'application/json', origin: ORIGIN },
        expectedStatus: 201,
      };
      const server = await startServer(target);
      try {
        await load(server, target, 1000, 32);
        fakes.resetRecords();
        const sample = await load(server, target, 5000, 32);
        fakes.resetRecords();
        if (sample.unexpected > 0) throw new Error(`${b.label}: ${sample.unexpected} requests failed`);
        samples.get(b.label)!.push(sample);
      } finally {
        server.close();
      }
    }
  }
  const rps = (label: string) => median(samples.get(label)!.map((x) => x.requestsPerSecond));
  const rows = [['server', 'req/s', 'p50 ms', 'p99 ms', 'server CPU us/request', 'req/s vs baseline', 'req/s vs floor']];
  for (const b of servers) {
    const s = samples.get(b.label)!;
    rows.push([
      b.label,
      rps(b.label).toFixed(0),
      median(s.map((x) => x.p50)).toFixed(0),
      median(s.map((x) => x.p99)).toFixed(0),
      median(s.map((x) => x.serverCpuUs)).toFixed(0),
      ratio(rps(b.label), rps('par:baseline')),
      ratio(rps(b.label), rps('par-floor')),
    ]);
  }
  console.log(`throughput: 3 passes of 5000 requests over 32 connections after 1000 warm-up ones, medians\n${table(rows)}\n`);
}

async function warm(): Promise<void> {
  const warm = built.flatMap((b) =>
    Array.from(
      { length: PROCESSES },
      (_, i) =>
        new WarmChild(children.warm, {
          ...(PROFILE_DIR !== undefined && i === 0
            ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `exp-${b.label.replace(':', '-')}.cpuprofile`] }
            : {}),
        label: b.label,
        bundle: b.bundle,
        event: EVENTS[b.fn],
        env: b.label.endsWith('-floor') ? floorEnv : { ...fakes.env, ...(b.variant.env ?? {}) },
          expectedStatus: EXPECTED_STATUS[b.fn],
        }),
    ),
  );
  let cpu: Map<string, number[]>;
  let inclusive: Map<string, number[]>;
  try {
    for (const child of warm) {
      await child.load(WARMUP);
      fakes.resetRecords();
    }
    ({ cpu, inclusive } = await warmRounds(warm, ROUNDS, INVOCATIONS, () => fakes.resetRecords()));
  } finally {
    await Promise.all(warm.map((child) => child.close()));
  }
  for (const [title, m] of [['within rounds', cpu], ['including deferred work (timers, finalizers, GC after the round)', inclusive]] as const) {
    const paired = (a: string, b: string) => pairedRatio(m.get(a)!, m.get(b)!);
    const warmRows = [['variant', 'CPU us/invocation', 'vs baseline (paired)', 'IQR of paired ratios', 'saved us (paired)', 'vs floor (paired)']];
    for (const b of built) {
      const base = `${b.fn}:baseline`;
      const saved = median(m.get(base)!.map((value, i) => value - m.get(b.label)![i]!));
      const ratios = m.get(b.label)!.map((value, i) => value / m.get(base)![i]!);
      warmRows.push([
        b.label,
        spread(m.get(b.label)!, 0),
        `${paired(b.label, base).toFixed(3)} x`,
        `${quantile(ratios, 0.25).toFixed(3)}-${quantile(ratios, 0.75).toFixed(3)}`,
        saved.toFixed(0),
        `${paired(b.label, `${b.fn}-floor`).toFixed(2)} x`,
      ]);
    }
    console.log(`warm CPU ${title}:\n${table(warmRows)}\n`);
  }
  console.log(`(${ROUNDS} rounds of ${INVOCATIONS} after ${WARMUP} warm-up invocations, ${PROCESSES} process(es) per bundle, medians (IQR))\n`);

}
