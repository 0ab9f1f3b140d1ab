import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeakCollector } from '../helpers/leak-collector.ts';
import { formatFigures, LOAD_CLIENT_SECRET, runLoad, startLoadStack, type LoadFigures, type LoadStack } from '../helpers/load-stack.ts';

/**
 * A bounded load test of POST /par on 127.0.0.1 (autocannon against the function as the local stack
 * serves it, the real AWS SDK, instantly answering stand-ins). CI runs 2,000 requests per run at
 * concurrency 64; the 20,000 is `npx tsx bench/load.ts`, or here with LOAD_REQUESTS=20000.
 *
 * Run 1: zero non-201, every request object unique (jti), heap flat after a full GC.
 * Run 2, every 10th KMS Sign call throttled: no request lost, every failure a 503 with Retry-After.
 * Every log line the proxy writes is checked for leaks as it is written, then dropped.
 */
const REQUESTS = Number(process.env.LOAD_REQUESTS ?? 2_000);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 64);
/** Generous: a loaded CI machine is slower than this one (about 450 requests/s here). */
const MAX_SECONDS = 60 + Math.ceil(REQUESTS / 50);
const TEST_TIMEOUT_MS = (MAX_SECONDS + 30) * 1000;
/** Heap growth allowed over one run, after a full GC: 20,000 jtis kept by the stand-in are about 2 MiB. */
const HEAP_GROWTH_MIB = 32;

let stack: LoadStack;
const leaks = createLeakCollector('stream');
let stopWatching: () => void = () => {};
const figures: LoadFigures[] = [];

beforeAll(async () => {
  leaks.secret(LOAD_CLIENT_SECRET);
  stopWatching = leaks.watch();
  stack = await startLoadStack();
  // Warm-up, not measured: the kid, discovery, the secret, sockets, the JIT.
  const warm = await runLoad(stack, { requests: 300, connections: CONNECTIONS, kms: 'instant', maxSeconds: 60 });
  expect(warm.counters.statuses).toEqual({ 201: 300 });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  stopWatching();
  // The figures, for the CI log.
  for (const f of figures) console.log(formatFigures(f));
});

describe(`POST /par under load (${REQUESTS} requests per run, concurrency ${CONNECTIONS})`, () => {
  it(
    'instantly answering upstreams: every request answered 201, every request object unique, heap flat',
    async () => {
      const f = await runLoad(stack, { requests: REQUESTS, connections: CONNECTIONS, kms: 'instant', maxSeconds: MAX_SECONDS });
      figures.push(f);
      expect({ sent: f.sent, completed: f.completed, errors: f.errors, timeouts: f.timeouts }).toEqual({ sent: REQUESTS, completed: REQUESTS, errors: 0, timeouts: 0 });
      expect(f.counters.statuses).toEqual({ 201: REQUESTS });
      expect(f.non201).toBe(0);
      expect({ pushes: f.counters.pushes, unique: f.counters.uniqueJtis, duplicates: f.counters.duplicateJtis }).toEqual({ pushes: REQUESTS, unique: REQUESTS, duplicates: 0 });
      expect(f.counters.signCalls).toBe(REQUESTS); // one Sign per request: the kid is cached
      expect(f.memoryAfter.heapUsedMiB - f.memoryBefore.heapUsedMiB).toBeLessThan(HEAP_GROWTH_MIB);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'every 10th KMS Sign call throttled: no request lost, every failure a 503 with Retry-After, no jti reused',
    async () => {
      const f = await runLoad(stack, { requests: REQUESTS, connections: CONNECTIONS, kms: { throttleEvery: 10 }, maxSeconds: MAX_SECONDS });
      figures.push(f);
      expect({ sent: f.sent, completed: f.completed, errors: f.errors, timeouts: f.timeouts }).toEqual({ sent: REQUESTS, completed: REQUESTS, errors: 0, timeouts: 0 });
      expect(Object.keys(f.counters.statuses).filter((s) => s !== '201' && s !== '503')).toEqual([]);
      expect(f.counters.unexpected).toBe(0); // every non-201 is a 503 with Retry-After
      expect((f.counters.statuses['201'] ?? 0) + (f.counters.statuses['503'] ?? 0)).toBe(REQUESTS);
      // The SDK retried the throttled calls: most requests succeeded anyway.
      expect(f.counters.throttled).toBeGreaterThan(0);
      expect(f.counters.signCalls).toBeGreaterThan(REQUESTS);
      expect(f.counters.statuses['201'] ?? 0).toBeGreaterThan(REQUESTS * 0.95);
      expect({ pushes: f.counters.pushes, duplicates: f.counters.duplicateJtis }).toEqual({ pushes: f.counters.statuses['201'], duplicates: 0 });
      expect(f.memoryAfter.heapUsedMiB - f.memoryBefore.heapUsedMiB).toBeLessThan(HEAP_GROWTH_MIB);
    },
    TEST_TIMEOUT_MS,
  );

  it('no leaks: no client secret, request object or stack trace in any of the proxy\'s log lines under load', () => {
    const report = leaks.report();
    expect(report.requestLogLines).toBeGreaterThanOrEqual(2 * REQUESTS);
    expect(report.findings).toEqual([]);
  });
});
