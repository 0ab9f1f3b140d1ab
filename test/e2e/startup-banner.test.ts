import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { tryIt } from '../../local/try-it.ts';
import { logIn } from '../helpers/browser-session.ts';

/**
 * `npm start`'s "Try it" commands, run as printed (bash and curl, against the stack on localhost):
 * each mode's path ends in a redeemed code (RFC 6749 4.1.3), not in an error.
 */
const hasCurl = existsSync('/usr/bin/curl');

/** The banner's shell lines: indented four spaces. */
const commands = (text: string) => text.split('\n').filter((line) => /^ {4}\S/.test(line)).map((line) => line.trim());

/** bash, asynchronously: the stack answers in this same process. Bounded in time. */
function bash(script: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-euc', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stderr}`)),
    );
  });
}

describe.skipIf(!hasCurl)('the startup banner, relay mode', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ host: 'localhost', refreshTokens: true });
  });
  afterAll(() => stack?.close());

  it('POST /par, the login at the authorization_url, and the printed /token command redeem the code for tokens', async () => {
    const [par, token, ...rest] = commands(tryIt(stack));
    expect(rest).toEqual([]);
    expect(par).toContain(`${stack.proxyUrl}/par`);
    const pushed = JSON.parse(await bash(par!)) as { authorization_url: string };
    // What the person does in the browser: the login, back to /callback with the code.
    const callback = await logIn(pushed.authorization_url, stack.redirectUri, 'alice');
    const code = callback.searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    const tokens = JSON.parse(await bash(token!, { CODE: code! })) as Record<string, unknown>;
    expect(tokens).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), id_token: expect.any(String), refresh_token: expect.any(String) });
  });
});

describe.skipIf(!hasCurl)('the startup banner, bff mode', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ host: 'localhost', mode: 'bff' });
  });
  afterAll(() => stack?.close());

  it('curl logs in with a cookie jar: the session is authenticated and the API answers through the proxy', async () => {
    stack.resourceServer.reset();
    const [session, api] = (await bash(commands(tryIt(stack)).join('\n'))).trim().split('\n');
    expect(JSON.parse(session!)).toMatchObject({ authenticated: true, claims: { sub: 'alice' } });
    expect(JSON.parse(api!)).toMatchObject({ sub: 'alice' });
    expect(stack.resourceServer.requests).toHaveLength(1);
  });
});
