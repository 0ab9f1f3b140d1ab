import { summarizeProfile } from './lib/profile.ts';
import { table } from './lib/stats.ts';

/**
 * Self time of a warm child's V8 CPU profile, by package and by source line, through the bundle's
 * source map:
 *
 *   npx tsx bench/profile.ts <file.cpuprofile> <bundle index.mjs> [rows]
 *
 * or two profiles side by side, in microseconds per invocation (the number of invocations each
 * profiled child ran: warm-up plus rounds):
 *
 *   npx tsx bench/profile.ts <a.cpuprofile> <a index.mjs> --versus <b.cpuprofile> <b index.mjs> --invocations N [rows]
 *
 * Profiles come from `BENCH_PROFILE=par,par-floor npm run bench`; the profiler's own overhead is in
 * them, so use them for shares, not figures.
 */
const args = process.argv.slice(2);
const versus = args.indexOf('--versus');
const invocationsAt = args.indexOf('--invocations');
const usage = () => {
  console.error('usage: tsx bench/profile.ts <file.cpuprofile> <bundle index.mjs> [--versus <b.cpuprofile> <b index.mjs> --invocations N] [rows]');
  process.exit(2);
};
const [profileFile, bundleFile] = args;
if (profileFile === undefined || bundleFile === undefined) usage();
const a = summarizeProfile(profileFile!, bundleFile!);

if (versus === -1) {
  const rows = Number(args[2] ?? 25);
  const share = (ms: number) => `${((ms / a.totalMs) * 100).toFixed(1)} %`;
  console.log(`${a.totalMs.toFixed(0)} ms of samples (idle excluded)\n`);
  console.log(table([['self time by package / file', 'ms', 'share'], ...a.byGroup.slice(0, rows).map(([k, v]) => [k, v.toFixed(0), share(v)])]));
  console.log('');
  console.log(table([['self time by source line', 'ms', 'share'], ...a.byFrame.slice(0, rows).map(([k, v]) => [k, v.toFixed(0), share(v)])]));
} else {
  const [bProfile, bBundle] = [args[versus + 1], args[versus + 2]];
  const invocations = Number(args[invocationsAt + 1]);
  if (bProfile === undefined || bBundle === undefined || invocationsAt === -1 || !(invocations > 0)) usage();
  const rows = Number(args.find((arg, i) => i > invocationsAt + 1 && i !== versus + 1 && i !== versus + 2 && /^\d+$/.test(arg)) ?? 30);
  const b = summarizeProfile(bProfile!, bBundle!);
  const perInvocation = (ms: number | undefined) => ((ms ?? 0) * 1000) / invocations;
  const ma = new Map(a.byGroup);
  const mb = new Map(b.byGroup);
  const groups = [...new Set([...ma.keys(), ...mb.keys()])]
    .map((group) => [group, perInvocation(ma.get(group)), perInvocation(mb.get(group))] as const)
    .sort((x, y) => y[1] - y[2] - (x[1] - x[2]));
  console.log(
    table([
      ['self time, us per invocation', 'a', 'b', 'a - b'],
      ['(total)', perInvocation(a.totalMs).toFixed(0), perInvocation(b.totalMs).toFixed(0), (perInvocation(a.totalMs) - perInvocation(b.totalMs)).toFixed(0)],
      ...groups.slice(0, rows).map(([group, x, y]) => [group, x.toFixed(1), y.toFixed(1), (x - y).toFixed(1)]),
    ]),
  );
}
