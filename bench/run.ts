import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { buildAll, buildChildren, OUT_DIR, type Bundles } from './lib/build.ts';
import { coldStarts, type ColdSample, type ColdVariant } from './lib/cold.ts';
import { BFF_EXPECTED_STATUS, DPOP_ENV } from './lib/bff-fakes.ts';
import { EVENTS, EXPECTED_STATUS, FIXED_KID, ORIGIN, perRequest, startFakes, totalOf, type Fakes } from './lib/fakes.ts';
import { FUNCTIONS } from '../functions/manifest.ts';
import { CliError, failInOneLine } from '../infra/cli-failure.ts';
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
 *                            (a label's spaces and slashes become dashes: BENCH_PROFILE='bff /session')
 *   BENCH_MODE=bff           only one mode's subjects: relay (par, token, jwks) or bff (the bff, its
 *                            floor and the split bundles); hello is always measured
 */
failInOneLine('npm run bench', 'BENCH_QUICK=1 npm run bench is a quicker pass to retry; bench/run.ts lists the settings');
const QUICK = process.env.BENCH_QUICK === '1';
const SECTIONS = ['size', 'cold', 'warm', 'throughput'];
const ONLY = new Set((process.env.BENCH_ONLY || SECTIONS.join(',')).split(',').map((s) => s.trim()));
const unknown = [...ONLY].filter((name) => !SECTIONS.includes(name));
if (unknown.length > 0) throw new CliError(`BENCH_ONLY names ${unknown.join(', ')}, not a section: use some of ${SECTIONS.join(',')}, or unset it for all`);
const PROFILE = new Set((process.env.BENCH_PROFILE ?? '').split(',').filter((s) => s !== ''));
const MODES = new Set(process.env.BENCH_MODE ? [process.env.BENCH_MODE] : ['relay', 'bff']);
if (![...MODES].every((mode) => mode === 'relay' || mode === 'bff')) throw new CliError(`BENCH_MODE must be relay or bff, got ${process.env.BENCH_MODE}: unset it for both`);
type Mode = 'relay' | 'bff';
/** The subjects of the modes asked for; hello's rows have no mode. */
const ofModes = <T extends { readonly mode?: Mode }>(items: readonly T[]): T[] => items.filter((item) => item.mode === undefined || MODES.has(item.mode));

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

/**
 * A cached value, reloaded by design, shows up as a call or two in a round, never one per request;
 * so does the DynamoDB store's activity write (an UpdateItem at most every tenth of the idle timeout).
 */
const RELOADS = new Set(['KMS GetPublicKey', 'SecretsManager GetSecretValue', 'AS jwks', 'DynamoDB UpdateItem']);
const MAX_RELOADS_PER_ROUND = 4;

/** The bff split by route group (bench/split/), in the login path's order. */
const SPLIT = ['split-par', 'split-callback', 'split-session', 'split-api'] as const;

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
const bffFloorEnv = { ...fakes.bffEnv, ...configured('par'), ...configured('token') };

try {
  if (ONLY.has('size')) sizes(bundles);
  if (ONLY.has('cold')) await cold(bundles, fakes);
  if (ONLY.has('warm')) await warm(bundles, fakes);
  if (ONLY.has('throughput') && MODES.has('relay')) await throughput(bundles, fakes);
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
  const pairs = ofModes([
    { name: 'par', floor: 'par-floor', mode: 'relay' },
    { name: 'token', floor: 'token-floor', mode: 'relay' },
    { name: 'jwks', floor: 'jwks-floor', mode: 'relay' },
    { name: 'bff', floor: 'bff-floor', mode: 'bff' },
  ] as const);
  const budgetOf = (name: string) => FUNCTIONS.find((fn) => fn.name === name)!.gzipBudgetKiB;
  const rows = [['bundle', 'minified', 'gzip', 'floor', 'floor minified', 'floor gzip', 'gzip ratio', 'minified ratio', 'budget (manifest)']];
  for (const { name, floor: floorName } of pairs) {
    const bundle = all[name];
    const floor = all[floorName];
    rows.push([
      name, kib(bundle.bytes), kib(bundle.gzipBytes), floorName, kib(floor.bytes), kib(floor.gzipBytes),
      ratio(bundle.gzipBytes, floor.gzipBytes), ratio(bundle.bytes, floor.bytes), `${budgetOf(name)} KiB`,
    ]);
    summary.push({
      figure: 'bundle gzip',
      subject: name,
      value: kib(bundle.gzipBytes),
      baseline: `${floorName} ${kib(floor.gzipBytes)}`,
      ratio: ratio(bundle.gzipBytes, floor.gzipBytes),
      target: verdict(bundle.gzipBytes / floor.gzipBytes, TARGETS.size),
    });
  }
  if (MODES.has('bff')) {
    for (const name of SPLIT) rows.push([name, kib(all[name].bytes), kib(all[name].gzipBytes), '', '', '', ratio(all[name].gzipBytes, all.bff.gzipBytes) + ' of bff', '', '']);
  }
  rows.push(['hello', kib(all.hello.bytes), kib(all.hello.gzipBytes), '', '', '', '', '', '']);
  console.log(table(rows));
  results.sizes = Object.fromEntries(Object.values(all).map((b) => [b.name, { bytes: b.bytes, gzipBytes: b.gzipBytes }]));
}

// ---------------------------------------------------------------------------------------------------
async function cold(all: Bundles, f: Fakes): Promise<void> {
  section(`2. cold start: fresh node process, import + first invocation (${SETTINGS.coldProcesses} processes each, interleaved, medians (IQR))`);
  type Variant = ColdVariant & { readonly floor?: string; readonly mode?: Mode };
  const variant = (label: string, bundle: keyof Bundles, event: unknown, env: Record<string, string>, expectedStatus: number, more: { floor?: string; mode?: Mode } = {}): Variant => ({
    label,
    bundle: all[bundle],
    event,
    env,
    expectedStatus,
    ...more,
  });
  const relay = (floor: string) => ({ floor, mode: 'relay' as const });
  const bffEvents = f.bff.events;
  const routes = [['/par', 'par'], ['/callback', 'callback'], ['/session', 'session'], ['/api', 'api']] as const;
  const variants = ofModes([
    variant('par', 'par', EVENTS.par, f.env, 201, relay('par-floor')),
    variant('par +kid +endpoints', 'par', EVENTS.par, { ...f.env, ...configured('par') }, 201, relay('par-floor')),
    variant('par-floor', 'par-floor', EVENTS.par, floorEnv, 201, { mode: 'relay' }),
    variant('token', 'token', EVENTS.token, f.env, 200, relay('token-floor')),
    variant('token +endpoint', 'token', EVENTS.token, { ...f.env, ...configured('token') }, 200, relay('token-floor')),
    variant('token-floor', 'token-floor', EVENTS.token, floorEnv, 200, { mode: 'relay' }),
    variant('jwks', 'jwks', EVENTS.jwks, f.env, 200, relay('jwks-floor')),
    variant('jwks +kid', 'jwks', EVENTS.jwks, { ...f.env, ...configured('jwks') }, 200, relay('jwks-floor')),
    variant('jwks-floor', 'jwks-floor', EVENTS.jwks, floorEnv, 200, { mode: 'relay' }),
    // The one bff function, whichever route comes first; its floor; and the bff split in four (bench/split/).
    ...routes.map(([route, event]) => variant(`bff ${route}`, 'bff', bffEvents[event], f.bffEnv, BFF_EXPECTED_STATUS[event], { floor: `bff-floor ${route}`, mode: 'bff' })),
    // The floor's fixed kid and endpoints; the bff still reads discovery for the ID tokens' jwks_uri.
    ...routes
      .filter(([route]) => route === '/par' || route === '/session')
      .map(([route, event]) => variant(`bff ${route} +kid +endpoints`, 'bff', bffEvents[event], { ...f.bffEnv, ...configured('par'), ...configured('token') }, BFF_EXPECTED_STATUS[event], { floor: `bff-floor ${route}`, mode: 'bff' })),
    // issue 15: the DynamoDB client's first call (endpoint, credentials, connection) on the first request.
    ...(['session', 'api'] as const).map((event) => variant(`bff+dynamodb /${event}`, 'bff', f.bff.store.events[event], { ...f.bffEnv, ...f.bff.store.env }, 200, { floor: `bff-floor /${event}`, mode: 'bff' })),
    ...routes.map(([route, event]) => variant(`bff-floor ${route}`, 'bff-floor', bffEvents[event], bffFloorEnv, BFF_EXPECTED_STATUS[event], { mode: 'bff' })),
    ...routes.map(([route, event], i) => variant(`split ${route}`, SPLIT[i]!, bffEvents[event], f.bffEnv, BFF_EXPECTED_STATUS[event], { mode: 'bff' })),
    variant('hello', 'hello', EVENTS.par, floorEnv, 200),
  ]);
  const samples = await coldStarts(children.cold, variants, SETTINGS.coldProcesses, () => f.resetRecords());
  const cost = (s: ColdSample) => s.importMs + s.firstMs;
  const of = (label: string) => samples.get(label)!;
  const costOf = (label: string) => median(of(label).map(cost));
  const rows = [['variant', 'import+first ms', 'import ms', 'first ms', 'from origin ms', 'CPU ms', 'vs floor', 'vs hello']];
  for (const { label, floor } of variants) {
    const s = of(label);
    rows.push([
      label,
      spread(s.map(cost)),
      median(s.map((x) => x.importMs)).toFixed(1),
      median(s.map((x) => x.firstMs)).toFixed(1),
      median(s.map((x) => x.totalMs)).toFixed(1),
      median(s.map((x) => x.cpuMs)).toFixed(1),
      floor === undefined ? '' : ratio(costOf(label), costOf(floor)),
      ratio(costOf(label), costOf('hello')),
    ]);
    if (floor !== undefined) {
      summary.push({
        figure: 'cold import+first',
        subject: label,
        value: `${costOf(label).toFixed(1)} ms`,
        baseline: `${floor} ${costOf(floor).toFixed(1)} ms`,
        ratio: ratio(costOf(label), costOf(floor)),
        target: verdict(costOf(label) / costOf(floor), TARGETS.cold),
      });
    }
  }
  console.log(table(rows));
  const boot = median([...samples.values()].flat().map((s) => s.boot));
  console.log(`\nNode's own start (time origin to the runner's first line): median ${boot.toFixed(1)} ms, the same for all`);
  if (MODES.has('relay')) console.log('par: derived kid (GetPublicKey) and discovery on the first request, as configured by default; "+kid +endpoints": SIGNING_KID, PAR_ENDPOINT, AUTHORIZATION_ENDPOINT set');
  if (MODES.has('bff')) loginPath(costOf, boot);
  results.cold = Object.fromEntries([...samples].map(([label, s]) => [label, s]));
}

/**
 * Issue 12's split decision: every function is a cold start on a user's first login. The login path
 * (par, callback, session, first API call) on a cold deployment pays one cold start with the one bff
 * function (the first request's; the others find the container warm) and four with a function per
 * route group, whose total is the sum of the split functions' cold starts.
 */
function loginPath(costOf: (label: string) => number, boot: number): void {
  const routes = ['/par', '/callback', '/session', '/api'];
  const one = costOf('bff /par');
  const four = routes.reduce((sum, route) => sum + costOf(`split ${route}`), 0);
  console.log('\nthe split decision: the login path on a cold deployment (import + first invocation, ms)\n');
  console.log(table([
    ['route', 'one bff function', 'its own function (split)'],
    ...routes.map((route, i) => [route, i === 0 ? `${costOf(`bff ${route}`).toFixed(1)} (cold)` : `warm (cold alone: ${costOf(`bff ${route}`).toFixed(1)})`, `${costOf(`split ${route}`).toFixed(1)} (cold)`]),
    ['cold starts', '1', '4'],
    ['total', one.toFixed(1), four.toFixed(1)],
    [`total + Node's start (${boot.toFixed(0)} ms each)`, (one + boot).toFixed(1), (four + 4 * boot).toFixed(1)],
  ]));
  summary.push({
    figure: 'login path cold starts',
    subject: 'bff (one function)',
    value: `1: ${one.toFixed(1)} ms (+ Node ${boot.toFixed(0)} ms)`,
    baseline: `split in four: 4, ${four.toFixed(1)} ms (+ 4 x Node ${boot.toFixed(0)} ms)`,
    ratio: ratio(one, four),
    target: '(decision)',
  });
}

// ---------------------------------------------------------------------------------------------------
async function warm(all: Bundles, f: Fakes): Promise<void> {
  section(`3 and 4. warm CPU per invocation and remote calls per warm request, in-process (${SETTINGS.warmProcesses} process(es) per handler, ${SETTINGS.warmRounds} rounds of ${SETTINGS.warmInvocations} sequential invocations after ${SETTINGS.warmWarmup} warm-up ones; median of rounds (IQR))`);
  const profileDir = join(OUT_DIR, 'profiles');
  if (PROFILE.size > 0) mkdirSync(profileDir, { recursive: true });
  /** `floor`: the baseline; `expected`: the remote calls every request makes, by name as perRequest counts them. */
  type Target = WarmTarget & { readonly floor?: string; readonly expected?: Readonly<Record<string, number>>; readonly mode?: Mode };
  const target = (label: string, bundle: keyof Bundles, event: unknown, env: Record<string, string>, expectedStatus: number, more: Pick<Target, 'floor' | 'expected' | 'mode'> = {}): Target => ({
    label,
    bundle: all[bundle],
    event,
    env,
    expectedStatus,
    ...more,
    ...(PROFILE.has(label) ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${label.replace(/[^A-Za-z0-9-]+/g, '-')}.cpuprofile`] } : {}),
  });
  const bffEvents = f.bff.events;
  const bff = (floor: string, expected: Record<string, number>) => ({ floor, expected, mode: 'bff' as const });
  const storeEnv = { ...f.bffEnv, ...f.bff.store.env };
  const targets = ofModes([
    target('par', 'par', EVENTS.par, f.env, EXPECTED_STATUS.par, { floor: 'par-floor', expected: { 'KMS Sign': 1, 'AS par': 1 }, mode: 'relay' }),
    target('par-floor', 'par-floor', EVENTS.par, floorEnv, EXPECTED_STATUS.par, { mode: 'relay' }),
    target('token', 'token', EVENTS.token, f.env, EXPECTED_STATUS.token, { floor: 'token-floor', expected: { 'AS token': 1 }, mode: 'relay' }),
    target('token-floor', 'token-floor', EVENTS.token, floorEnv, EXPECTED_STATUS.token, { mode: 'relay' }),
    target('jwks', 'jwks', EVENTS.jwks, f.env, EXPECTED_STATUS.jwks, { floor: 'jwks-floor', expected: {}, mode: 'relay' }),
    target('jwks-floor', 'jwks-floor', EVENTS.jwks, floorEnv, EXPECTED_STATUS.jwks, { mode: 'relay' }),
    // issue 12: /session makes no remote call; an API call only the API's, and the token endpoint's when a refresh is due.
    target('bff /session', 'bff', bffEvents.session, f.bffEnv, BFF_EXPECTED_STATUS.session, bff('bff-floor /session', {})),
    target('bff /api', 'bff', bffEvents.api, f.bffEnv, BFF_EXPECTED_STATUS.api, bff('bff-floor /api', { API: 1 })),
    target('bff /api refresh', 'bff', bffEvents.apiRefresh, f.bffEnv, BFF_EXPECTED_STATUS.apiRefresh, bff('bff-floor /api refresh', { 'AS token': 1, API: 1 })),
    // issue 14: DPOP=true, a key per session: one ES256 proof per API call (two with a refresh), no more remote calls.
    target('bff /api dpop', 'bff', bffEvents.apiDpop, { ...f.bffEnv, ...DPOP_ENV }, BFF_EXPECTED_STATUS.apiDpop, bff('bff-floor /api', { API: 1 })),
    target('bff /api refresh dpop', 'bff', bffEvents.apiRefreshDpop, { ...f.bffEnv, ...DPOP_ENV }, BFF_EXPECTED_STATUS.apiRefreshDpop, bff('bff-floor /api refresh', { 'AS token': 1, API: 1 })),
    // issue 15: SESSION_STORE=dynamodb, one GetItem per warm request (activity written at most every 6 minutes).
    target('bff+dynamodb /session', 'bff', f.bff.store.events.session, storeEnv, 200, bff('bff-floor /session', { 'DynamoDB GetItem': 1 })),
    target('bff+dynamodb /api', 'bff', f.bff.store.events.api, storeEnv, 200, bff('bff-floor /api', { 'DynamoDB GetItem': 1, API: 1 })),
    target('bff-floor /session', 'bff-floor', bffEvents.session, bffFloorEnv, BFF_EXPECTED_STATUS.session, { mode: 'bff' }),
    target('bff-floor /api', 'bff-floor', bffEvents.api, bffFloorEnv, BFF_EXPECTED_STATUS.api, { mode: 'bff' }),
    target('bff-floor /api refresh', 'bff-floor', bffEvents.apiRefresh, bffFloorEnv, BFF_EXPECTED_STATUS.apiRefresh, { mode: 'bff' }),
    target('hello', 'hello', EVENTS.par, floorEnv, 200),
  ]);
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
  for (const { label, floor, expected } of targets) {
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
    if (floor === undefined || expected === undefined) continue;
    summary.push({
      figure: 'warm CPU/invocation',
      subject: label,
      value: `${med(inclusive, label).toFixed(0)} us`,
      baseline: `${floor} ${med(inclusive, floor).toFixed(0)} us; hello ${med(inclusive, 'hello').toFixed(0)} us`,
      ratio: `${paired(inclusive, label, floor).toFixed(2)} x`,
      target: verdict(paired(inclusive, label, floor), TARGETS.warm),
    });
    const everyRound = perCall.every((c) => exactly(c, expected, SETTINGS.warmInvocations));
    summary.push({
      figure: 'remote calls/warm request',
      subject: label,
      value: describe(last),
      baseline: `${floor} ${totalOf(calls.get(floor)!.at(-1) ?? {})}`,
      ratio: '',
      target: `exactly ${totalOf(expected)} (+ cache reloads) ${everyRound ? 'ok' : 'MISSED'}`,
    });
  }
  console.log(table(rows));
  console.log(`
CPU: process.cpuUsage() of the child (all its threads, GC included); the fakes run in this process.
"all": from one round's start to the next one's, so it includes what a round leaves for later
(AbortSignal.timeout timers and their FinalizationRegistry, GC); "in round": the invocations only.
Ratios: median over rounds of the ratio within each round (paired), so that noise lasting a round cancels.
Remote calls: counted at the fakes, per request, in every round. A cached value reloaded by design
(the kid once a minute in jwks; a key ring or secret after 5 minutes, the ID tokens' JWKS after 10)
is a call or two in a round of ${SETTINGS.warmInvocations}, not one per request.`);
  if (MODES.has('bff')) console.log(`bff: the session cookie is ${f.bff.sessionCookieBytes} bytes sealed (an Auth0-like session: claims, a JWT access token, a refresh token), one cookie; bff and bff-floor open the same bytes. With a DPoP key (the dpop rows): ${f.bff.dpopSessionCookieBytes} bytes.`);
  if (PROFILE.size > 0) console.log(`CPU profiles: ${profileDir}`);
  results.warm = {
    sessionCookieBytes: f.bff.sessionCookieBytes,
    cpuUsPerInvocation: Object.fromEntries(cpu),
    inclusiveCpuUsPerInvocation: Object.fromEntries(inclusive),
    wallUsPerInvocation: Object.fromEntries(wall),
    remoteCalls: Object.fromEntries(calls),
  };
}

/** One round's calls per request are exactly `expected`, apart from cache reloads. */
function exactly(counts: Record<string, number>, expected: Readonly<Record<string, number>>, invocations: number): boolean {
  const names = new Set([...Object.keys(counts), ...Object.keys(expected)]);
  return [...names].every((name) => {
    const count = counts[name] ?? 0;
    const want = expected[name] ?? 0;
    if (Math.abs(count - want) < 1e-9) return true;
    return want === 0 && RELOADS.has(name) && count * invocations <= MAX_RELOADS_PER_ROUND + 1e-9;
  });
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
