import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { checkProofShape, MAX_DPOP_PROOF_LENGTH, proofThumbprint } from '../../functions/core/spa-dpop-proof.ts';
import { bindRefreshToken, unbindRefreshToken } from '../../functions/core/refresh-binding.ts';
import { open, seal, sealKey, type KeyRing } from '../../functions/core/sealed-cookie.ts';

/** DPoP proofs (RFC 9449 4.2, 4.3) as the relay /token checks them, and the refresh token binding built on them. */
interface Key {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function key(alg = 'ES256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { privateKey, jwk: await exportJWK(publicKey) };
}

function proof(signer: Key, header: Record<string, unknown> = {}, alg = 'ES256'): Promise<string> {
  return new SignJWT({ htm: 'POST', htu: 'https://as.example/token', jti: randomBytes(12).toString('base64url') })
    .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk: signer.jwk, ...header })
    .setIssuedAt()
    .sign(signer.privateKey);
}

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const refused = (raw: string | undefined) => {
  try {
    checkProofShape(raw);
  } catch (error) {
    return { status: (error as { status?: number }).status, error: (error as { error?: string }).error };
  }
  return undefined;
};

describe('checkProofShape (RFC 9449 4.2, 4.3)', () => {
  it('accepts a proof and hands it on unchanged, with its public jwk', async () => {
    const signer = await key();
    const raw = await proof(signer);
    expect(checkProofShape(raw)).toEqual({ proof: raw, jwk: signer.jwk });
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['two parts', 'eyJhbGciOiJFUzI1NiJ9.eyJ9'],
    ['two proofs joined by a comma (two DPoP header fields, RFC 9449 4.3 check 1)', 'a.b.c, a.b.c'],
    ['padding', 'eyJh.eyJ9.c2ln='],
    ['a space', 'eyJh .eyJ9.c2ln'],
  ])('refuses %s: 400 invalid_dpop_proof', (_what, raw) => {
    expect(refused(raw)).toEqual({ status: 400, error: 'invalid_dpop_proof' });
  });

  it(`refuses a proof longer than ${MAX_DPOP_PROOF_LENGTH} characters before parsing it`, async () => {
    const signer = await key();
    const long = await proof(signer, { pad: 'x'.repeat(MAX_DPOP_PROOF_LENGTH) });
    expect(refused(long)).toEqual({ status: 400, error: 'invalid_dpop_proof' });
  });

  it('refuses a typ other than dpop+jwt (RFC 9449 4.2)', async () => {
    const signer = await key();
    expect(refused(await proof(signer, { typ: 'JWT' }))).toEqual({ status: 400, error: 'invalid_dpop_proof' });
  });

  it('refuses alg none, a symmetric alg, and a missing alg (RFC 9449 4.2: asymmetric only)', async () => {
    const signer = await key();
    const payload = part({ htm: 'POST', jti: 'j', iat: 1 });
    for (const alg of ['none', 'HS256', undefined]) {
      const header = part({ typ: 'dpop+jwt', jwk: signer.jwk, ...(alg === undefined ? {} : { alg }) });
      expect(refused(`${header}.${payload}.c2lnbmF0dXJl`)).toEqual({ status: 400, error: 'invalid_dpop_proof' });
    }
  });

  it('refuses a missing jwk, a jwk that is not an object, and a jwk with private key members (RFC 9449 4.2)', async () => {
    const signer = await key();
    const payload = part({ htm: 'POST', jti: 'j', iat: 1 });
    for (const jwk of [undefined, 'abc', [signer.jwk], { ...signer.jwk, d: 'private' }, { crv: 'P-256' }]) {
      const header = part({ typ: 'dpop+jwt', alg: 'ES256', ...(jwk === undefined ? {} : { jwk }) });
      expect(refused(`${header}.${payload}.c2lnbmF0dXJl`)).toEqual({ status: 400, error: 'invalid_dpop_proof' });
    }
  });

  it('refuses a header or payload that is not a JSON object', async () => {
    const signer = await key();
    const header = part({ typ: 'dpop+jwt', alg: 'ES256', jwk: signer.jwk });
    expect(refused(`${part([1])}.${part({})}.c2ln`)).toEqual({ status: 400, error: 'invalid_dpop_proof' });
    expect(refused(`${header}.${part('text')}.c2ln`)).toEqual({ status: 400, error: 'invalid_dpop_proof' });
    expect(refused(`${header}.bm90IGpzb24.c2ln`)).toEqual({ status: 400, error: 'invalid_dpop_proof' });
  });
});

describe('proofThumbprint (RFC 9449 4.3 check 6, RFC 7638)', () => {
  it('is the SHA-256 thumbprint of the jwk that signed the proof', async () => {
    for (const alg of ['ES256', 'PS256', 'EdDSA']) {
      const signer = await key(alg);
      const raw = await proof(signer, {}, alg);
      expect(await proofThumbprint(checkProofShape(raw))).toBe(await calculateJwkThumbprint(signer.jwk, 'sha256'));
    }
  });

  it('refuses a proof whose jwk did not sign it: 400 invalid_dpop_proof', async () => {
    const [signer, other] = [await key(), await key()];
    const raw = await proof(signer, { jwk: other.jwk });
    await expect(proofThumbprint(checkProofShape(raw))).rejects.toMatchObject({ status: 400, error: 'invalid_dpop_proof' });
  });

  it('refuses a proof whose signature was changed', async () => {
    const raw = await proof(await key());
    const [h, p, s] = raw.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    await expect(proofThumbprint(checkProofShape(flipped))).rejects.toMatchObject({ status: 400, error: 'invalid_dpop_proof' });
  });
});

describe('the refresh token bound to the DPoP key (RFC 9449 5: a confidential client\'s refresh token is not bound by the server)', () => {
  const NOW = 1_800_000_000;
  const ring = async (): Promise<KeyRing> => ({ current: await sealKey(randomBytes(32)) });
  const sealer = (keys: KeyRing) => ({
    seal: (payload: { exp: number }) => seal(payload, 'refresh', keys),
    open: async (value: string) => (await open(value, 'refresh', keys, NOW)).payload,
  });

  it('seals the refresh token with the key thumbprint, and gives it back only for the same thumbprint', async () => {
    const keys = sealer(await ring());
    const jkt = await calculateJwkThumbprint((await key()).jwk, 'sha256');
    const sealed = await bindRefreshToken('the-refresh-token', jkt, NOW, keys.seal);
    expect(sealed).not.toContain('the-refresh-token');
    expect(await unbindRefreshToken(sealed, jkt, keys.open)).toBe('the-refresh-token');
  });

  it('refuses it for another key thumbprint: 400 invalid_grant', async () => {
    const keys = sealer(await ring());
    const sealed = await bindRefreshToken('rt', await calculateJwkThumbprint((await key()).jwk, 'sha256'), NOW, keys.seal);
    const other = await calculateJwkThumbprint((await key()).jwk, 'sha256');
    await expect(unbindRefreshToken(sealed, other, keys.open)).rejects.toMatchObject({ status: 400, error: 'invalid_grant' });
  });

  it('refuses a tampered, foreign or plain refresh token: 400 invalid_grant', async () => {
    const keys = sealer(await ring());
    const jkt = await calculateJwkThumbprint((await key()).jwk, 'sha256');
    const sealed = await bindRefreshToken('rt', jkt, NOW, keys.seal);
    const i = sealed.length - 30;
    const tampered = `${sealed.slice(0, i)}${sealed[i] === 'A' ? 'B' : 'A'}${sealed.slice(i + 1)}`;
    const foreign = await bindRefreshToken('rt', jkt, NOW, sealer(await ring()).seal);
    for (const value of [tampered, foreign, 'rt', '']) {
      await expect(unbindRefreshToken(value, jkt, keys.open)).rejects.toMatchObject({ status: 400, error: 'invalid_grant' });
    }
  });
});
