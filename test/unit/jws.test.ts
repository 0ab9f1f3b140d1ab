import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compact, isSigningAlg, signingDigest, signingInput, SIGNING_ALGS } from '../../functions/core/jws.ts';

describe('the JWS algorithm mapping (seed: alg must be RS256, RS384 or PS256)', () => {
  it('maps each JWA name to the KMS signing algorithm and hash', () => {
    expect(SIGNING_ALGS).toEqual({
      PS256: { kms: 'RSASSA_PSS_SHA_256', hash: 'sha256' },
      RS256: { kms: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256' },
      RS384: { kms: 'RSASSA_PKCS1_V1_5_SHA_384', hash: 'sha384' },
    });
  });

  it('accepts no other algorithm', () => {
    for (const alg of ['HS256', 'none', 'ES256', 'PS384', 'toString', '__proto__']) expect(isSigningAlg(alg)).toBe(false);
  });

  it('hashes the signing input with the algorithm hash (MessageType DIGEST)', () => {
    expect(signingDigest('RS384', 'a.b')).toEqual(createHash('sha384').update('a.b').digest());
    expect(signingDigest('PS256', 'a.b')).toHaveLength(32);
  });

  it('builds RFC 7515 compact serialization', () => {
    const input = signingInput({ alg: 'PS256', typ: 'oauth-authz-req+jwt', kid: 'k' }, { a: 1 });
    const [header, payload] = input.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'PS256', typ: 'oauth-authz-req+jwt', kid: 'k' });
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toEqual({ a: 1 });
    expect(compact(input, new Uint8Array([255, 254]))).toBe(`${input}.__4`);
  });
});
