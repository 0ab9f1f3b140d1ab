import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two cores here and in CI: two files at a time keeps timings honest.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // What a test logs, and what the code under test writes to stdout or stderr (test/setup/quiet-output.ts),
    // is printed only if that test fails: `--silent=false` prints it all.
    setupFiles: ['test/setup/quiet-output.ts'],
    silent: 'passed-only',
    // ...but what a user can act on (a missing Chromium) is printed once, up front.
    globalSetup: ['test/setup/notices.ts'],
  },
});
