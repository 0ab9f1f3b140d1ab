import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint } from 'jose';
import { startFakeKms, type FakeKms } from '../../local/fake-kms.ts';

/** `npm run public-key` through the real AWS SDK against the wire-level KMS stand-in. */
const run = promisify(execFile);
let kms: FakeKms;

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

  it('prints the keys of a deployed JWKS endpoint, needing no KMS permission', async () => {
    const key = kms.createKey();
    const jwk = key.publicKey.export({ format: 'jwk' });
    const kid = await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n!, e: jwk.e! });
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [{ kty: 'RSA', n: jwk.n, e: jwk.e, kid, alg: 'PS256', use: 'sig' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    try {
      const { stdout } = await run('npx', ['tsx', 'infra/public-key.ts', '--jwks-url', url], { timeout: 30_000 });
      const pem = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/.exec(stdout)?.[0];
      expect(createPublicKey(pem!).equals(key.publicKey)).toBe(true);
      expect(stdout).toContain(`kid ${kid}`);
    } finally {
      server.close();
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
});
