import { writeSync } from 'node:fs';
import { lambdaContext, type Handler } from './context.ts';

/**
 * One cold start, as Lambda's runtime does it: a fresh Node process imports the bundle and answers
 * its first invocation. Times are from the process's time origin (performance.now() is relative to
 * it): `boot` when this script starts, then the import, then the first answer. The result goes to fd 3
 * as JSON, so that the function's own log lines on stdout do not mix with it.
 *
 * argv: <bundle file URL> <event JSON>
 */
const boot = performance.now();
const [url, eventJson] = process.argv.slice(2) as [string, string];
const { handler } = (await import(url)) as { handler: Handler };
const imported = performance.now();
const result = await handler(JSON.parse(eventJson), lambdaContext);
const answered = performance.now();
const cpu = process.cpuUsage();
writeSync(
  3,
  JSON.stringify({
    boot,
    importMs: imported - boot,
    firstMs: answered - imported,
    totalMs: answered,
    cpuMs: (cpu.user + cpu.system) / 1000,
    status: result.statusCode ?? 0,
  }),
);
process.exit(0);
