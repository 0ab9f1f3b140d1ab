import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.ts';
import { BffBrowser } from './bff-browser.ts';
import { createLeakCollector, type LeakCollector } from './leak-collector.ts';

/**
 * One local stack for a test file (one per process: the stack points the AWS SDK at its KMS through
 * process.env), with a leak collector watching everything the file makes the proxy log, and told
 * the stack's client secret.
 * `expectNoLeaks`, called last, adds the closing test that asserts on it.
 */
export function watchedStack(options: LocalStackOptions): {
  readonly current: () => LocalStack;
  readonly leaks: LeakCollector;
  /** A cookie-jar browser on the stack's bff whose cookies and secrets the collector looks for. */
  browser(): BffBrowser;
  /** `beforeReport`: last secrets to name, known only once the file's tests ran (what an API received). */
  expectNoLeaks(minimumLogLines: number, beforeReport?: () => void): void;
} {
  const leaks = createLeakCollector('keep');
  let stack: LocalStack | undefined;
  let stopWatching: () => void = () => {};
  beforeAll(async () => {
    const stop = leaks.watch();
    // Once: the captured output is added to the collector when watching stops.
    stopWatching = () => {
      stopWatching = () => {};
      stop();
    };
    stack = await startLocalStack(options);
    leaks.secret(stack.clientSecret);
  }, 30_000);
  afterAll(async () => {
    await stack?.close();
    stopWatching();
  });
  return {
    current: () => stack!,
    leaks,
    browser: () => new BffBrowser(stack!.proxyUrl, '', (secret) => leaks.secret(secret)),
    expectNoLeaks: (minimumLogLines, beforeReport) =>
      describe('nothing leaks', () => {
        it('no client secret, code, token, JWT or stack trace in any log line', () => {
          beforeReport?.();
          stopWatching();
          const report = leaks.report();
          expect(report.requestLogLines).toBeGreaterThanOrEqual(minimumLogLines);
          expect(report.findings).toEqual([]);
        });
      }),
  };
}
