/**
 * The full /par load run: `npx tsx bench/load.ts` (127.0.0.1 only; bounded in count and time).
 *
 *   LOAD_REQUESTS=20000 LOAD_CONNECTIONS=64 npx tsx bench/load.ts
 *
 * Run 1: LOAD_REQUESTS requests at LOAD_CONNECTIONS concurrency with instantly answering fakes: every
 * answer must be 201, every request object's jti unique, the heap flat.
 * Run 2: the same with every 10th KMS Sign call throttled: nothing lost, every failure a 503 with
 * Retry-After.
 * The proxy's log lines are checked for leaks as they are written, then dropped. Exits 1 if a check
 * fails. test/load/par-load.test.ts runs the same with CI-sized counts.
 */
import { createLeakCollector } from '../test/helpers/leak-collector.ts';
import { formatFigures, LOAD_CLIENT_SECRET, runLoad, startLoadStack, type LoadFigures } from '../test/helpers/load-stack.ts';

const requests = Number(process.env.LOAD_REQUESTS ?? 20_000);
const connections = Number(process.env.LOAD_CONNECTIONS ?? 64);
const maxSeconds = Number(process.env.LOAD_MAX_SECONDS ?? 600);
if (!Number.isSafeInteger(requests) || requests < 1 || requests > 1_000_000) throw new Error('LOAD_REQUESTS must be 1 to 1,000,000');
if (!Number.isSafeInteger(connections) || connections < 1 || connections > 1024) throw new Error('LOAD_CONNECTIONS must be 1 to 1024');

const leaks = createLeakCollector('stream');
leaks.secret(LOAD_CLIENT_SECRET);
const stopWatching = leaks.watch();
const figures: LoadFigures[] = [];
let stack;
try {
  stack = await startLoadStack();
  // Warm-up, not measured: the kid (GetPublicKey), discovery, the secret, sockets, the JIT.
  await runLoad(stack, { requests: 500, connections, kms: 'instant', maxSeconds: 60 });
  figures.push(await runLoad(stack, { requests, connections, kms: 'instant', maxSeconds }));
  figures.push(await runLoad(stack, { requests, connections, kms: { throttleEvery: 10 }, maxSeconds }));
} finally {
  await stack?.close();
  stopWatching();
}

const [plain, throttled] = figures as [LoadFigures, LoadFigures];
const leakReport = leaks.report();
const checks: [string, boolean][] = [
  ['run 1: every request answered', plain.completed === requests && plain.errors === 0 && plain.timeouts === 0],
  ['run 1: zero non-201', plain.non201 === 0 && plain.counters.statuses['201'] === requests],
  ['run 1: every request object unique (jti)', plain.counters.uniqueJtis === requests && plain.counters.duplicateJtis === 0],
  ['run 1: heap flat (< 32 MiB growth after GC)', plain.memoryAfter.heapUsedMiB - plain.memoryBefore.heapUsedMiB < 32],
  ['run 2: no request lost', throttled.completed === requests && throttled.errors === 0 && throttled.timeouts === 0],
  ['run 2: every failure a 503 with Retry-After', throttled.counters.unexpected === 0],
  ['run 2: every success pushed once, jti unique', throttled.counters.pushes === throttled.counters.statuses['201'] && throttled.counters.duplicateJtis === 0],
  ['no secret, request object or stack trace in the logs', leakReport.findings.length === 0 && leakReport.requestLogLines >= 2 * requests],
];

console.log(`\n${formatFigures(plain)}\n\n${formatFigures(throttled)}\n`);
console.log(`  log lines checked for leaks: ${leakReport.requestLogLines} (${Math.round(leakReport.bytes / 1024)} KiB), findings: ${leakReport.findings.length}\n`);
for (const [name, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}`);
if (leakReport.findings.length > 0) console.log(JSON.stringify(leakReport.findings, null, 2));
process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
