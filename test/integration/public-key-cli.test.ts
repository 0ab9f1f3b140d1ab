import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint } from 'jose';
import { startFakeKms, type FakeKms } from '../../local/fake-kms.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';

/** `npm run public-key` through the real AWS SDK against the wire-level KMS stand-in. */
const run = promisify(execFile);
let kms: FakeKms;

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The CLI as `npm run public-key` runs it (tsx), with node's own warnings off (the AWS SDK warns
 * about Node 20 on stderr) and no AWS variable or file of the caller's: stderr is the CLI's alone.
 */
async function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Outcome> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  const options = {
    env: { ...base, NODE_NO_WARNINGS: '1', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', KMS_KEY_ID: '', CLIENT_ASSERTION_KMS_KEY_ID: '', ...env },
    timeout: 30_000,
  };
  return run('node_modules/.bin/tsx', ['infra/public-key.ts', ...args], options).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** A failure as the operator sees it: one line on stderr, no stack trace, no exception text, nothing printed. */
function expectOneLineFailure(outcome: Outcome, ...mentions: string[]): void {
  expect(outcome.code, outcome.stderr).not.toBe(0);
  expect(outcome.stderr.trimEnd().split('\n'), outcome.stderr).toHaveLength(1);
  for (const mention of mentions) expect(outcome.stderr).toContain(mention);
  const leaks = createLeakCollector();
  leaks.add(outcome.stderr);
  expect(leaks.report().findings).toEqual([]);
  expect(outcome.stdout).not.toContain('BEGIN PUBLIC KEY');
}

/** A JWKS endpoint on 127.0.0.1 answering `answer` for every request, and the paths it was asked for. */
async function jwksServer(answer: (path: string) => { status: number; headers?: Record<string, string>; body?: unknown }) {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    const { status, headers = {}, body } = answer(req.url ?? '');
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, paths, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const rsaJwk = () => {
  const jwk = kms.createKey().publicKey.export({ format: 'jwk' });
  return { kty: 'RSA', n: jwk.n!, e: jwk.e! };
};

beforeAll(async () => {
  kms = await startFakeKms();
});
afterAll(() => kms.close());

describe('npm run public-key', () => {
  it('prints each key as PEM and as a JWK whose kid is its RFC 7638 thumbprint', async () => {
    const first = kms.createKey({ alias: 'alias/one' });
    const second = kms.createKey({ modulusLength: 3072 });
    const { stdout } = await run('npx', ['tsx', 'infra/public-key.ts', 'alias/one', second.arn, '--alg', 'RS256'], {
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_KMS: kms.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
      timeout: 30_000,
    });
    const pems = stdout.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
    expect(pems).toHaveLength(2);
    for (const [index, key] of [first, second].entries()) {
      expect(createPublicKey(pems[index]!).equals(key.publicKey)).toBe(true);
      const jwk = key.publicKey.export({ format: 'jwk' });
      const kid = await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n!, e: jwk.e! });
      expect(stdout).toContain(`"kid": "${kid}"`);
    }
    expect(stdout).toContain('"alg": "RS256"');
    expect(stdout).not.toMatch(/PRIVATE/);
  });

  it('prints the keys of a deployed JWKS endpoint, needing no KMS permission (http is accepted for 127.0.0.1)', async () => {
    const key = kms.createKey();
    const jwk = key.publicKey.export({ format: 'jwk' });
    const kid = await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n!, e: jwk.e! });
    const server = await jwksServer(() => ({ status: 200, body: { keys: [{ kty: 'RSA', n: jwk.n, e: jwk.e, kid, alg: 'PS256', use: 'sig' }] } }));
    try {
      const { code, stdout } = await cli(['--jwks-url', `${server.origin}/.well-known/jwks.json`]);
      expect(code).toBe(0);
      const pem = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/.exec(stdout)?.[0];
      expect(createPublicKey(pem!).equals(key.publicKey)).toBe(true);
      expect(stdout).toContain(`kid ${kid}`);
    } finally {
      await server.close();
    }
  });

  it('explains its usage when no key is given', async () => {
    const failure = await run('npx', ['tsx', 'infra/public-key.ts'], {
      env: { ...process.env, KMS_KEY_ID: '', CLIENT_ASSERTION_KMS_KEY_ID: '' },
      timeout: 30_000,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain('usage: npm run public-key');
  });

  describe('--jwks-url: the PEM an operator registers at Auth0 comes only from the URL given, over TLS', () => {
    it.each(['http://example.test/.well-known/jwks.json', 'ftp://127.0.0.1/jwks.json', 'file:///etc/passwd', 'not a url'])(
      'refuses %s before any request: https only, http only for localhost',
      async (url) => {
        const outcome = await cli(['--jwks-url', url]);
        expectOneLineFailure(outcome, '--jwks-url', 'https');
      },
    );

    it('follows no redirect: a 302 is an error, and the target is never fetched', async () => {
      const key = rsaJwk();
      const server = await jwksServer((path) =>
        path === '/jwks.json' ? { status: 302, headers: { location: '/elsewhere.json' } } : { status: 200, body: { keys: [{ ...key, kid: 'k', alg: 'PS256', use: 'sig' }] } },
      );
      try {
        const outcome = await cli(['--jwks-url', `${server.origin}/jwks.json`]);
        expectOneLineFailure(outcome, 'redirect');
        expect(server.paths).toEqual(['/jwks.json']);
      } finally {
        await server.close();
      }
    });

    it('strips control characters (C0, ESC and OSC 52, DEL, C1, bidi overrides) from a kid and an alg before printing them', async () => {
      const key = rsaJwk();
      // OSC 52 asks the terminal to put "hi" on the clipboard; U+009B is a C1 CSI, U+202E reverses text.
      const kid = 'kid\u001b]52;c;aGk=\u0007-\u009b31m-\u202eend\u0000\r\n\u007f';
      const server = await jwksServer(() => ({ status: 200, body: { keys: [{ ...key, kid, alg: 'PS256\u001b[2J\u0085', use: 'sig' }] } }));
      try {
        const outcome = await cli(['--jwks-url', `${server.origin}/jwks.json`]);
        expect(outcome.code, outcome.stderr).toBe(0);
        expect(outcome.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
        expect(outcome.stdout).not.toMatch(/\\u00[0-9a-f]{2}/i); // nor as JSON escapes
        expect(outcome.stdout).toContain('kid kid]52;c;aGk=-31m-end');
        expect(outcome.stdout).toContain('"alg": "PS256[2J"');
        const pem = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/.exec(outcome.stdout)?.[0];
        expect(createPublicKey(pem!).export({ format: 'jwk' })).toMatchObject(key);
      } finally {
        await server.close();
      }
    });
  });

  it('an unknown option: one line naming it, a hint, exit code 2, no stack trace', async () => {
    const outcome = await cli(['--bogus', 'alias/x']);
    expect(outcome.code).toBe(2);
    expectOneLineFailure(outcome, '--bogus', '--help');
  });

  it('KMS without a region: one line naming AWS_REGION and --jwks-url, and no call to KMS', async () => {
    kms.createKey({ alias: 'alias/no-region' });
    const before = kms.totalCalls();
    const outcome = await cli(['alias/no-region'], { AWS_ENDPOINT_URL_KMS: kms.url, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    expectOneLineFailure(outcome, 'AWS_REGION', '--jwks-url');
    expect(kms.totalCalls()).toBe(before);
  });
});
