import { execFile } from 'node:child_process';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm start`'s failures as a new user meets them (issue 16): local/start.ts run as the npm script
 * runs it (tsx), in a child process. Each is one line on stderr that names what to change, with no
 * stack trace, and the process ends.
 */
const run = promisify(execFile);

async function start(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const options = { env: { ...process.env, NODE_NO_WARNINGS: '1', PROXY_MODE: '', SECURITY_PROFILE: '', SESSION_STORE: '', LOCAL_LOG: '', ...env }, timeout: 30_000 };
  return run('node_modules/.bin/tsx', ['local/start.ts'], options).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

function expectOneLine(outcome: { code: number; stdout: string; stderr: string }, ...mentions: string[]): void {
  expect(outcome.code, outcome.stderr).toBe(1);
  expect(outcome.stderr.trimEnd().split('\n'), outcome.stderr).toHaveLength(1);
  expect(outcome.stderr).toMatch(/^npm start: /);
  expect(outcome.stderr).not.toMatch(/\n\s+at /);
  for (const mention of mentions) expect(outcome.stderr).toContain(mention);
  expect(outcome.stdout).not.toContain('PAR proxy running locally');
}

describe('npm start on a port another process holds', () => {
  const holder = net.createServer();
  let taken: number;

  beforeAll(async () => {
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    taken = (holder.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  it('names PORT, the port, and a PORT that would work', async () => {
    expectOneLine(await start({ PORT: String(taken) }), `port ${taken} (PORT, the proxy) is in use`, 'PORT=', 'npm start');
  }, 40_000);

  it('names PORT+1 when the authorization server\'s port is the one taken', async () => {
    // PORT itself is then free: an ephemeral port's neighbour is, but for a rare race.
    expectOneLine(await start({ PORT: String(taken - 1) }), `port ${taken} (PORT+1, the local authorization server) is in use`);
  }, 40_000);
});

describe('npm start with a variable it cannot use', () => {
  it.each([
    ['PORT', 'abc', 'PORT must be a port number'],
    ['PORT', '65535', 'PORT must be a port number'],
    ['SESSION_STORE', 'redis', 'SESSION_STORE must be cookie or dynamodb, got redis: unset it'],
    ['PROXY_MODE', 'server', 'PROXY_MODE must be bff or relay, got server: unset it'],
    ['SECURITY_PROFILE', 'fapi', 'SECURITY_PROFILE must be none or fapi2, got fapi: unset it'],
    ['LOCAL_LOG', 'xml', 'LOCAL_LOG'],
  ])('%s=%s is one line naming it and what to do', async (name, value, mention) => {
    expectOneLine(await start({ [name]: value }), mention);
  }, 40_000);
});
