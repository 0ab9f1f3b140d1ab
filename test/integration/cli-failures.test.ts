import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { PAR } from '../../functions/manifest.ts';
import { esbuildOptionsFor } from '../../infra/bundling.ts';
import { CliError, failureLine } from '../../infra/cli-failure.ts';

/**
 * Issue 16: a CLI failure is one line that says what to do, never a stack trace. npm run bench and
 * npm run end-sessions in child processes, as npm runs them (tsx); npm run build's line from a real
 * esbuild failure.
 */
const run = promisify(execFile);

async function bench(env: Record<string, string>) {
  const options = { env: { ...process.env, NODE_NO_WARNINGS: '1', BENCH_ONLY: '', BENCH_MODE: '', ...env }, timeout: 30_000 };
  return run('node_modules/.bin/tsx', ['bench/run.ts'], options).then(
    ({ stdout, stderr }) => ({ code: 0 as number | null, stdout, stderr }),
    (error: { code: number | null; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('npm run bench with a setting it cannot use', () => {
  it.each([
    [{ BENCH_MODE: 'both' }, 'npm run bench: BENCH_MODE must be relay or bff, got both: unset it for both'],
    [{ BENCH_ONLY: 'cold,sizes' }, 'npm run bench: BENCH_ONLY names sizes, not a section: use some of size,cold,warm,throughput'],
  ])('%o: one line naming it, before anything is built', async (env, line) => {
    const outcome = await bench(env);
    expect(outcome.code, outcome.stderr).toBe(1);
    expect(outcome.stderr.trimEnd().split('\n'), outcome.stderr).toHaveLength(1);
    expect(outcome.stderr).toContain(line);
    expect(outcome.stdout).not.toContain('== build');
  }, 40_000);
});

/** npm run end-sessions with no AWS configuration of the caller's: what a new operator's laptop has. */
async function endSessions(args: readonly string[], env: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && name !== 'SESSION_TABLE_NAME'));
  const options = { env: { ...base, NODE_NO_WARNINGS: '1', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', ...env }, timeout: 30_000 };
  return run('node_modules/.bin/tsx', ['infra/end-sessions.ts', ...args], options).then(
    ({ stdout, stderr }) => ({ code: 0 as number | null, stdout, stderr }),
    (error: { code: number | null; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('npm run end-sessions failing', () => {
  // Every AWS endpoint on a closed loopback port: nothing leaves the machine.
  const closed = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' };
  it.each([
    [['--x'], {}, 2, "Unknown option '--x' (see npm run end-sessions -- --help)"],
    [['--table', 't'], {}, 2, '--sub is required'],
    [['--sub', 'a'], {}, 2, 'pass --table NAME or set SESSION_TABLE_NAME'],
    [['--sub', 'a', '--table', 't'], {}, 1, 'no AWS region: set AWS_REGION'],
    [['--sub', 'a', '--table', 't'], closed, 1, 'the session table is unavailable (check your AWS credentials, AWS_REGION and the table name'],
  ] as const)('%o %o: one line with what to do, exit %i', async (args, env, code, line) => {
    const outcome = await endSessions(args, { ...env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    expect(outcome.code, outcome.stderr).toBe(code);
    expect(outcome.stderr.trimEnd().split('\n'), outcome.stderr).toHaveLength(1);
    expect(outcome.stderr).toContain(line);
    expect(outcome.stdout).toBe('');
  }, 40_000);
});

describe('failureLine', () => {
  it('makes esbuild\'s multi-line failure (npm run build) one line with the file, the reason and the hint', async () => {
    const missing = { ...PAR, entry: 'functions/par/missing.ts' };
    const failure = await build({ ...esbuildOptionsFor(missing, '/nonexistent/missing'), write: false, logLevel: 'silent' }).catch((error: unknown) => error);
    expect((failure as Error).message).toContain('\n'); // what it joins
    const line = failureLine('npm run build', failure, 'fix what it names');
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^npm run build: Build failed with 1 error: .*functions\/par\/missing\.ts.* \(fix what it names\)$/);
  });

  it('gives a CliError no generic hint (its message has its own) and strips terminal controls', () => {
    expect(failureLine('npm start', new CliError('PORT must be a port number: e.g. PORT=4000 npm start'), 'generic')).toBe(
      'npm start: PORT must be a port number: e.g. PORT=4000 npm start',
    );
    expect(failureLine('npm start', new Error('bad \u001b]52;c;eA==\u0007 value\u202e'), 'hint')).toBe('npm start: bad ]52;c;eA== value (hint)');
  });
});
