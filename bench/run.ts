import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { buildAll, buildChildren, OUT_DIR, type Bundles } from './lib/build.ts';
import { coldStarts, type ColdSample, type ColdVariant } from './lib/cold.ts';
import { EVENTS, EXPECTED_STATUS, FIXED_KID, ORIGIN, perRequest, startFakes, totalOf, type Fakes } from './lib/fakes.ts';
import { kib, markdownTable, median, pairedRatio, ratio, spread, table } from './lib/stats.ts';
import { load, startServer, type ThroughputSample, type ThroughputTarget } from './lib/throughput.ts';
import { WarmChild, warmRounds, type WarmTarget } from './lib/warm.ts';

/**
 * `npm run bench`: issue 6's benchmark. Builds the function bundles with the CDK's esbuild options
 * and prints, in one run, each figure beside a baseline measured in the same run: bundle size, cold
 * start, warm CPU per invocation, remote calls per warm request, throughput. Not part of `npm test`
 * (test/bundle-size.test.ts guards the sizes there).
 *
 *   BENCH_QUICK=1            a faster, rougher pass (fewer processes, rounds and requests)
 *   BENCH_ONLY=size,warm     only some sections: size, cold, warm, throughput
 *   BENCH_PROFILE=par        also writes a V8 CPU profile of that warm child to bench/.out/profiles
 */
const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = new Set((process.env.BENCH_ONLY ?? 'size,cold,warm,throughput').split(',').map((s) => s.trim()));
const PROFILE = new Set((process.env.BENCH_PROFILE ?? '').split(',').filter((s) => s !== ''));

const SETTINGS = {
  coldProcesses: QUICK ? 6 : 20,
  warmWarmup: QUICK ? 300 : 1000,
  warmRounds: QUICK ? 5 : 15,
  warmInvocations: QUICK ? 300 : 1000,
  /** Processes per handler: each has its own JIT and heap layout, a noise of its own. */
  warmProcesses: QUICK ? 1 : 2,
  throughputPasses: QUICK ? 1 : 3,
  throughputRequests: QUICK ? 1500 : 5000,
  throughputWarmup: QUICK ? 300 : 1000,
  connections: 32,
};

const TARGETS = { size: 1.15, cold: 1.2, warm: 1.3 };

interface Row {
  readonly figure: string;
  readonly subject: string;
  readonly value: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
}
const summary: Row[] = [];
const results: Record<string, unknown> = { settings: SETTINGS, quick: QUICK };

const machine = `${availableParallelism()} cores, ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
const verdict = (value: number, limit: number) => `<= ${limit.toFixed(2)} ${value <= limit ? 'ok' : 'MISSED'}`;
const section = (title: string) => console.log(`\n== ${title}\n`);

// ---------------------------------------------------------------------------------------------------
section(`build (${machine}${QUICK ? ', BENCH_QUICK' : ''})`);
const started = performance.now();
const [bundles, children] = await Promise.all([buildAll(), buildChildren()]);
console.log(`built ${Object.keys(bundles).length} bundles into ${join('bench', '.out', 'bundles')}`);

const fakes = await startFakes();
const configured = (name: 'par' | 'token' | 'jwks'): Record<string, string> => ({
  SIGNING_KID: FIXED_KID,
  ...(name === 'par' ? { PAR_ENDPOINT: fakes.endpoints.PAR_ENDPOINT, AUTHORIZATION_ENDPOINT: fakes.endpoints.AUTHORIZATION_ENDPOINT } : {}),
  ...(name === 'token' ? { TOKEN_ENDPOINT: fakes.endpoints.TOKEN_ENDPOINT } : {}),
});
const floorEnv = { ...fakes.env, ...configured('par'), ...configured('token') };

try {
  if (ONLY.has('size')) sizes(bundles);
  if (ONLY.has('cold')) await cold(bundles, fakes);
  if (ONLY.has('warm')) await warm(bundles, fakes);
  if (ONLY.has('throughput')) await throughput(bundles, fakes);
} finally {
  await fakes.close();
}

section('summary');
const header = ['figure', 'function', 'measured', 'baseline (same run)', 'ratio', 'target'];
const rows = summary.map((row) => [row.figure, row.subject, row.value, row.baseline, row.ratio, row.target]);
console.log(table([header, ...rows]));
console.log(`\n${machine}; ${((performance.now() - started) / 1000).toFixed(0)} s${QUICK ? ' (BENCH_QUICK=1)' : ''}`);
mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(join(OUT_DIR, 'results.json'), JSON.stringify({ machine, ...results, summary }, null, 2));
writeFileSync(join(OUT_DIR, 'results.md'), `${markdownTable([header, ...rows])}\n\n${machine}\n`);
console.log(`written: bench/.out/results.json, bench/.out/results.md`);

// ---------------------------------------------------------------------------------------------------
function sizes(all: Bundles): void {
  section('1. bundle size (index.mjs minified; gzip = zlib level 9)');
  const pairs = [
    ['par', 'par-floor'],
    ['token', 'token-floor'],
    ['jwks', 'jwks-floor'],
  ] as const;
  const rows = [['bundle', 'minified', 'gzip', 'floor', 'floor minified', 'floor gzip', 'gzip ratio', 'minified ratio']];
  for (const [name, floorName] of pairs) {
    const bundle = all[name];
    const floor = all[floorName];
    rows.push([name, kib(bundle.bytes), kib(bundle.gzipBytes), floorName, kib(floor.bytes), kib(floor.gzipBytes), ratio(bundle.gzipBytes, floor.gzipBytes), ratio(bundle.bytes, floor.bytes)]);
    summary.push({
      figure: 'bundle gzip',
      subject: name,
      value: kib(bundle.gzipBytes),
      baseline: `${floorName} ${kib(floor.gzipBytes)}`,
      ratio: ratio(bundle.gzipBytes, floor.gzipBytes),
      target: verdict(bundle.gzipBytes / floor.gzipBytes, TARGETS.size),
    });
  }
  rows.push(['hello', kib(all.hello.bytes), kib(all.hello.gzipBytes), '', '', '', '', '']);
  console.log(table(rows));
  results.sizes = Object.fromEntries(Object.values(all).map((b) => [b.name, { bytes: b.bytes, gzipBytes: b.gzipBytes }]));
}

// ---------------------------------------------------------------------------------------------------
async function cold(all: Bundles, f: Fakes): Promise<void> {
  section(`2. cold start: fresh node process, import + first invocation (${SETTINGS.coldProcesses} processes each, interleaved, medians (IQR))`);
  const variant = (label: string, bundle: keyof Bundles, event: unknown, env: Record<string, string>, expectedStatus: number): ColdVariant => ({
    label,
    bundle: all[bundle],
    event,
    env,
    expectedStatus,
  });
  const variants = [
    variant('par', 'par', EVENTS.par, f.env, 201),
    variant('par +kid +endpoints', 'par', EVENTS.par, { ...f.env, ...configured('par') }, 201),
    variant('par-floor', 'par-floor', EVENTS.par, floorEnv, 201),
    variant('token', 'token', EVENTS.token, f.env, 200),
    variant('token +endpoint', 'token', EVENTS.token, { ...f.env, ...configured('token') }, 200),
    variant('token-floor', 'token-floor', EVENTS.token, floorEnv, 200),
    variant('jwks', 'jwks', EVENTS.jwks, f.env, 200),
    variant('jwks +kid', 'jwks', EVENTS.jwks, { ...f.env, ...configured('jwks') }, 200),
    variant('jwks-floor', 'jwks-floor', EVENTS.jwks, floorEnv, 200),
    variant('hello', 'hello', EVENTS.par, floorEnv, 200),
  ];
  const samples = await coldStarts(children.cold, variants, SETTINGS.coldProcesses, () => f.resetRecords());
  const cost = (s: ColdSample) => s.importMs + s.firstMs;
  const of = (label: string) => samples.get(label)!;
  const floorOf = (label: string) => (label === 'hello' ? undefined : `${label.split(' ')[0]!.replace(/-floor$/, '')}-floor`);
  const rows = [['variant', 'import+first ms', 'import ms', 'first ms', 'from origin ms', 'CPU ms', 'vs floor', 'vs hello']];
  for (const { label } of variants) {
    const s = of(label);
    const floor = floorOf(label);
    const floorCost = floor === undefined ? Number.NaN : median(of(floor).map(cost));
    rows.push([
      label,
      spread(s.map(cost)),
      median(s.map((x) => x.importMs)).toFixed(1),
      median(s.map((x) => x.firstMs)).toFixed(1),
      median(s.map((x) => x.totalMs)).toFixed(1),
      median(s.map((x) => x.cpuMs)).toFixed(1),
      floor === undefined || floor === label ? '' : ratio(median(s.map(cost)), floorCost),
      ratio(median(s.map(cost)), median(of('hello').map(cost))),
    ]);
    if (floor !== undefined && floor !== label) {
      summary.push({
        figure: 'cold import+first',
        subject: label,
        value: `${median(s.map(cost)).toFixed(1)} ms`,
        baseline: `${floor} ${floorCost.toFixed(1)} ms`,
        ratio: ratio(median(s.map(cost)), floorCost),
        target: verdict(median(s.map(cost)) / floorCost, TARGETS.cold),
      });
    }
  }
  console.log(table(rows));
  console.log(`\nNode's own start (time origin to the runner's first line): median ${median([...samples.values()].flat().map((s) => s.boot)).toFixed(1)} ms, the same for all`);
  console.log('par: derived kid (GetPublicKey) and discovery on the first request, as configured by default; "+kid +endpoints": SIGNING_KID, PAR_ENDPOINT, AUTHORIZATION_ENDPOINT set');
  results.cold = Object.fromEntries([...samples].map(([label, s]) => [label, s]));
}

// ---------------------------------------------------------------------------------------------------
async function warm(all: Bundles, f: Fakes): Promise<void> {
  section(`3 and 4. warm CPU per invocation and remote calls per warm request, in-process (${SETTINGS.warmProcesses} process(es) per handler, ${SETTINGS.warmRounds} rounds of ${SETTINGS.warmInvocations} sequential invocations after ${SETTINGS.warmWarmup} warm-up ones; median of rounds (IQR))`);
  const profileDir = join(OUT_DIR, 'profiles');
  if (PROFILE.size > 0) mkdirSync(profileDir, { recursive: true });
  const target = (label: string, bundle: keyof Bundles, event: unknown, env: Record<string, string>, expectedStatus: number): WarmTarget => ({
    label,
    bundle: all[bundle],
    event,
    env,
    expectedStatus,
    ...(PROFILE.has(label) ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${label}.cpuprofile`] } : {}),
  });
  const targets = [
    target('par', 'par', EVENTS.par, f.env, EXPECTED_STATUS.par),
    target('par-floor', 'par-floor', EVENTS.par, floorEnv, EXPECTED_STATUS.par),
    target('token', 'token', EVENTS.token, f.env, EXPECTED_STATUS.token),
    target('token-floor', 'token-floor', EVENTS.token, floorEnv, EXPECTED_STATUS.token),
    target('jwks', 'jwks', EVENTS.jwks, f.env, EXPECTED_STATUS.jwks),
    target('jwks-floor', 'jwks-floor', EVENTS.jwks, floorEnv, EXPECTED_STATUS.jwks),
    target('hello', 'hello', EVENTS.par, floorEnv, 200),
  ];
  const warmChildren = targets.flatMap((t) =>
    Array.from({ length: SETTINGS.warmProcesses }, (_, i) => new WarmChild(children.warm, i === 0 ? t : { ...t, execArgv: [] })),
  );
  const wall = new Map<string, number[]>(targets.map((t) => [t.label, []]));
  const calls = new Map<string, Record<string, number>[]>(targets.map((t) => [t.label, []]));
  let cpu: Map<string, number[]>;
  let inclusive: Map<string, number[]>;
  try {
    for (const child of warmChildren) {
      await child.load(SETTINGS.warmWarmup);
      f.resetRecords();
    }
    let before = f.counts();
    ({ cpu, inclusive } = await warmRounds(warmChildren, SETTINGS.warmRounds, SETTINGS.warmInvocations, (label, measured) => {
      const after = f.counts();
      calls.get(label)!.push(perRequest(before, after, SETTINGS.warmInvocations));
      wall.get(label)!.push(measured.wallUsPerInvocation);
      f.resetRecords();
      before = f.counts();
    }));
  } finally {
    await Promise.all(warmChildren.map((child) => child.close()));
  }
  const med = (m: Map<string, number[]>, label: string) => median(m.get(label)!);
  const paired = (m: Map<string, number[]>, label: string, baseline: string) => pairedRatio(m.get(label)!, m.get(baseline)!);
  const describe = (c: Record<string, number>) => `${totalOf(c)} (${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'})`;
  const rows = [['handler', 'CPU us/inv (all)', 'vs floor', 'vs hello', 'CPU us/inv (in round)', 'vs floor', 'wall us/inv', 'remote calls per request']];
  for (const { label } of targets) {
    const floor = label.endsWith('-floor') || label === 'hello' ? undefined : `${label}-floor`;
    const perCall = calls.get(label)!;
    const last = perCall[perCall.length - 1] ?? {};
    rows.push([
      label,
      spread(inclusive.get(label)!, 0),
      floor === undefined ? '' : `${paired(inclusive, label, floor).toFixed(2)} x`,
      `${paired(inclusive, label, 'hello').toFixed(2)} x`,
      spread(cpu.get(label)!, 0),
      floor === undefined ? '' : `${paired(cpu, label, floor).toFixed(2)} x`,
      median(wall.get(label)!).toFixed(0),
      describe(last),
    ]);
    if (floor !== undefined) {
      summary.push({
        figure: 'warm CPU/invocation',
        subject: label,
        value: `${med(inclusive, label).toFixed(0)} us`,
        baseline: `${floor} ${med(inclusive, floor).toFixed(0)} us; hello ${med(inclusive, 'hello').toFixed(0)} us`,
        ratio: `${paired(inclusive, label, floor).toFixed(2)} x`,
        target: verdict(paired(inclusive, label, floor), TARGETS.warm),
      });
      const expected = { par: 2, token: 1, jwks: 0 }[label as 'par' | 'token' | 'jwks'];
      // jwks re-reads its public keys once a minute by design (a moved alias shows up within the
      // JWKS max-age): at most one GetPublicKey per key in a round is part of "0 per request".
      const refreshes = (c: Record<string, number>) => (label === 'jwks' ? Math.min(c['KMS GetPublicKey'] ?? 0, 1 / SETTINGS.warmInvocations) : 0);
      const everyRound = perCall.every((c) => Math.abs(totalOf(c) - refreshes(c) - expected) < 1e-9);
      summary.push({
        figure: 'remote calls/warm request',
        subject: label,
        value: describe(last),
        baseline: `${floor} ${totalOf(calls.get(floor)!.at(-1) ?? {})}`,
        ratio: '',
        target: `exactly ${expected}${label === 'jwks' ? ' (+ key refresh once a minute)' : ''} ${everyRound ? 'ok' : 'MISSED'}`,
      });
    }
  }
  console.log(table(rows));
  console.log(`
CPU: process.cpuUsage() of the child (all its threads, GC included); the fakes run in this process.
"all": from one round's start to the next one's, so it includes what a round leaves for later
(AbortSignal.timeout timers and their FinalizationRegistry, GC); "in round": the invocations only.
Ratios: median over rounds of the ratio within each round (paired), so that noise lasting a round cancels.
Remote calls: counted at the fakes, per request, in every round.`);
  if (PROFILE.size > 0) console.log(`CPU profiles: ${profileDir}`);
  results.warm = {
    cpuUsPerInvocation: Object.fromEntries(cpu),
    inclusiveCpuUsPerInvocation: Object.fromEntries(inclusive),
    wallUsPerInvocation: Object.fromEntries(wall),
    remoteCalls: Object.fromEntries(calls),
  };
}

// ---------------------------------------------------------------------------------------------------
async function throughput(all: Bundles, f: Fakes): Promise<void> {
  section(`5. throughput through @hono/node-server on 127.0.0.1 (autocannon: ${SETTINGS.throughputRequests} requests, ${SETTINGS.connections} connections, ${SETTINGS.throughputPasses} pass(es), medians; latency in whole ms)`);
  const headers = { 'content-type': 'application/json', origin: ORIGIN };
  const target = (label: string, bundle: keyof Bundles, env: Record<string, string>): ThroughputTarget => ({
    label,
    bundle: all[bundle],
    env,
    path: '/par',
    body: EVENTS.par.body ?? '',
    headers,
    expectedStatus: 201,
  });
  const targets = [target('par', 'server-par', f.env), target('par-floor', 'server-par-floor', floorEnv), target('hello', 'server-hello', floorEnv)];
  const samples = new Map<string, ThroughputSample[]>(targets.map((t) => [t.label, []]));
  for (let pass = 0; pass < SETTINGS.throughputPasses; pass += 1) {
    for (const t of targets) {
      const server = await startServer(t);
      try {
        await load(server, t, SETTINGS.throughputWarmup, SETTINGS.connections);
        f.resetRecords();
        const sample = await load(server, t, SETTINGS.throughputRequests, SETTINGS.connections);
        f.resetRecords();
        if (sample.unexpected > 0) throw new Error(`${t.label}: ${sample.unexpected} requests failed or answered unexpectedly`);
        samples.get(t.label)!.push(sample);
      } finally {
        server.close();
      }
    }
  }
  const rps = (label: string) => median(samples.get(label)!.map((s) => s.requestsPerSecond));
  const rows = [['server', 'req/s', 'p50 ms', 'p99 ms', 'server CPU us/request', 'load-side CPU', 'req/s vs floor', 'req/s vs hello']];
  for (const { label } of targets) {
    const s = samples.get(label)!;
    rows.push([
      label,
      rps(label).toFixed(0),
      median(s.map((x) => x.p50)).toFixed(0),
      median(s.map((x) => x.p99)).toFixed(0),
      median(s.map((x) => x.serverCpuUs)).toFixed(0),
      `${(median(s.map((x) => x.loadCpuShare)) * 100).toFixed(0)} %`,
      label === 'par' ? ratio(rps(label), rps('par-floor')) : '',
      ratio(rps(label), rps('hello')),
    ]);
  }
  console.log(table(rows));
  console.log(
    '\nThe server runs in its own process; autocannon and the fakes share this one ("load-side CPU", of one core). When that is near 100 %, req/s measures the load side, not the server: compare server CPU per request instead.',
  );
  const par = samples.get('par')!;
  summary.push({
    figure: 'throughput',
    subject: 'par',
    value: `${rps('par').toFixed(0)} req/s, p50 ${median(par.map((x) => x.p50)).toFixed(0)} ms, p99 ${median(par.map((x) => x.p99)).toFixed(0)} ms`,
    baseline: `par-floor ${rps('par-floor').toFixed(0)} req/s; hello ${rps('hello').toFixed(0)} req/s`,
    ratio: ratio(rps('par'), rps('par-floor')),
    target: '(report only)',
  });
  results.throughput = Object.fromEntries(samples);
}
