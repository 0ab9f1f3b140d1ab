import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { OAuthError } from '../../functions/core/errors.ts';
import { bindRefreshToken, unbindRefreshToken } from '../../functions/core/refresh-binding.ts';
import { open, seal, sealKey, type KeyRing } from '../../functions/core/sealed-cookie.ts';
import { checkProofShape, MAX_DPOP_PROOF_LENGTH, proofThumbprint } from '../../functions/core/spa-dpop-proof.ts';
import { anyString, fcOptions, PROPERTY_TIMEOUT_MS } from '../helpers/hostile.ts';

/**
 * Hostile DPoP headers and refresh tokens (RFC 9449 4.3, relay's refresh binding): whatever a caller
 * sends, the answer is a 400 with an OAuth error, never an exception of another kind, and a refresh
 * token opens only exactly as sealed and only for its key.
 */
const NOW = 1_800_000_000;
let ring: KeyRing;
let proof: string;
let jwk: JWK;

beforeAll(async () => {
  ring = { current: await sealKey(randomBytes(32)) };
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  jwk = await exportJWK(publicKey);
  proof = await new SignJWT({ htm: 'POST', htu: 'https://as.example/token', jti: 'j' })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .setIssuedAt()
    .sign(privateKey);
});

/** What checkProofShape and proofThumbprint make of `raw`: a thumbprint, or the OAuth error they refused with. */
async function outcome(raw: string): Promise<string> {
  try {
    return await proofThumbprint(checkProofShape(raw));
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    expect(error.status).toBe(400);
    expect(error.error).toBe('invalid_dpop_proof');
    expect(error.description).toMatch(/^[\x20-\x7e]{1,256}$/);
    return 'refused';
  }
}

describe('hostile DPoP headers', () => {
  it('anything is refused with 400 invalid_dpop_proof, or is a proof of at most the limit with typ dpop+jwt', async () => {
    const parts = fc.array(fc.oneof(fc.base64String(), anyString(40), fc.constant(proof.split('.')[0]!)), { maxLength: 5 }).map((p) => p.join('.'));
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyString(200), parts, fc.constant('x'.repeat(MAX_DPOP_PROOF_LENGTH + 1))), async (raw) => {
        const result = await outcome(raw);
        if (result !== 'refused') {
          expect(raw.length).toBeLessThanOrEqual(MAX_DPOP_PROOF_LENGTH);
          expect(checkProofShape(raw).proof).toBe(raw);
        }
      }),
      fcOptions(300),
    );
  }, PROPERTY_TIMEOUT_MS);

  it('a proof with one character changed is refused, or still names the same key (a base64url spelling of the same bytes)', async () => {
    const jkt = await calculateJwkThumbprint(jwk, 'sha256');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: proof.length - 1 }), fc.constantFrom(...alphabet), async (at, character) => {
        const changed = `${proof.slice(0, at)}${character}${proof.slice(at + 1)}`;
        expect(['refused', jkt]).toContain(await outcome(changed));
      }),
      fcOptions(300),
    );
  }, PROPERTY_TIMEOUT_MS);
});

describe('hostile refresh tokens', () => {
  it('a sealed refresh token with any one character changed, cut or extended never opens: 400 invalid_grant', async () => {
    const jkt = await calculateJwkThumbprint(jwk, 'sha256');
    const sealed = await bindRefreshToken('the-refresh-token', jkt, NOW, (payload) => seal(payload, 'refresh', ring));
    const openRefresh = async (value: string) => (await open(value, 'refresh', ring, NOW)).payload;
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: sealed.length - 1 }), fc.oneof(fc.constantFrom('A', 'b', '_', '-', '.', ''), fc.string({ maxLength: 3 })), async (at, insert) => {
        const changed = `${sealed.slice(0, at)}${insert}${sealed.slice(at + 1)}`;
        fc.pre(changed !== sealed);
        await expect(unbindRefreshToken(changed, jkt, openRefresh)).rejects.toMatchObject({ status: 400, error: 'invalid_grant' });
      }),
      fcOptions(300),
    );
    expect(await unbindRefreshToken(sealed, jkt, openRefresh)).toBe('the-refresh-token');
  }, PROPERTY_TIMEOUT_MS);
});
