import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { asksResourceNonce, DpopNonces, isDpopNonce } from '../../functions/core/dpop-nonces.ts';
import { accessTokenHash, dpopJkt, dpopProof, dpopProver, htuOf, newDpopKey } from '../../functions/core/dpop-proof.ts';

describe('DPoP proofs (RFC 9449 4.2)', () => {
  it('signs ES256 with typ dpop+jwt and the public jwk only; the claims are jti, htm, htu, iat, nonce and ath', async () => {
    const key = newDpopKey();
    const proof = await dpopProof(key, { htm: 'GET', htu: 'https://api.example.com/v1/me?x=1#f', iat: 1_700_000_000, nonce: 'n-1', accessToken: 'at.1' });
    const header = decodeProtectedHeader(proof);
    expect(header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: { crv: 'P-256', kty: 'EC', x: key.x, y: key.y } });
    const { payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'], currentDate: new Date(1_700_000_000_000) });
    expect(Object.keys(payload).sort()).toEqual(['ath', 'htm', 'htu', 'iat', 'jti', 'nonce']);
    expect(payload).toMatchObject({ htm: 'GET', htu: 'https://api.example.com/v1/me', iat: 1_700_000_000, nonce: 'n-1' });
    // 7: ath = base64url(SHA-256(ASCII(access token))).
    expect(payload.ath).toBe(createHash('sha256').update('at.1').digest('base64url'));
    expect(payload.ath).toBe(accessTokenHash('at.1'));
    expect(proof).not.toContain(key.d);
  });

  it('has a new jti for every proof, and no nonce or ath unless given', async () => {
    const key = newDpopKey();
    const claims = { htm: 'POST', htu: 'https://as.example.com/token', iat: 1 };
    const [a, b] = await Promise.all([dpopProof(key, claims), dpopProof(key, claims)]);
    const jti = (proof: string) => JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(jti(a).jti).not.toBe(jti(b).jti);
    expect(Object.keys(jti(a)).sort()).toEqual(['htm', 'htu', 'iat', 'jti']);
  });

  it('dpop_jkt is the RFC 7638 thumbprint of the public key (RFC 9449 10)', async () => {
    const key = newDpopKey();
    expect(dpopJkt(key)).toBe(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: key.x, y: key.y }));
    expect(dpopJkt(key)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newDpopKey().d).not.toBe(key.d);
  });

  it('signs with each session\'s own key, however many sessions a container has served (its imported keys are bounded)', async () => {
    const keys = Array.from({ length: 70 }, () => newDpopKey());
    for (const key of [...keys, keys[0]!, keys[69]!]) {
      const proof = dpopProof(key, { htm: 'GET', htu: 'https://api.example.com/', iat: 1_700_000_000 });
      const { protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'], currentDate: new Date(1_700_000_000_000) });
      expect(protectedHeader.jwk).toMatchObject({ x: key.x, y: key.y });
    }
  });

  it('htu drops the query and the fragment, keeps the path', () => {
    expect(htuOf('https://api.example.com/a/b?c=d#e')).toBe('https://api.example.com/a/b');
  });

  it('a prover uses the nonce last remembered for the URL\'s origin (section 8)', async () => {
    const nonces = new DpopNonces();
    const prover = dpopProver(newDpopKey(), nonces, () => 5_000);
    const claims = async (url: string) => JSON.parse(Buffer.from((await prover.proof('POST', url)).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect((await claims('https://as.example.com/token')).nonce).toBeUndefined();
    nonces.remember('https://as.example.com/other', 'abc');
    expect(await claims('https://as.example.com/token')).toMatchObject({ nonce: 'abc', iat: 5 });
    expect((await claims('https://api.example.com/me')).nonce).toBeUndefined();
  });
});

describe('DPoP nonces, per origin (RFC 9449 8, 9)', () => {
  it('remembers a well-formed nonce; says whether it is new; refuses malformed ones', () => {
    const nonces = new DpopNonces();
    expect(nonces.remember('https://as.example.com/token', 'n1')).toBe(true);
    expect(nonces.remember('https://as.example.com/token', 'n1')).toBe(false);
    expect(nonces.remember('https://as.example.com/token', 'n2')).toBe(true);
    for (const bad of ['', 'a"b', 'a\\b', 'a b', 'x'.repeat(513), undefined, ['n3']]) expect(nonces.remember('https://as.example.com/', bad as string)).toBe(false);
    expect(nonces.get('https://as.example.com/anything')).toBe('n2');
    expect(isDpopNonce('eyJ.abc-_~')).toBe(true);
  });

  it('keeps at most its cap of origins, the oldest going first', () => {
    const nonces = new DpopNonces(2);
    nonces.remember('https://a.example/', 'a');
    nonces.remember('https://b.example/', 'b');
    nonces.remember('https://c.example/', 'c');
    expect([nonces.get('https://a.example/'), nonces.get('https://b.example/'), nonces.get('https://c.example/')]).toEqual([undefined, 'b', 'c']);
  });

  it('recognises a resource\'s use_dpop_nonce challenge (7.1), and nothing else', () => {
    expect(asksResourceNonce(401, 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"')).toBe(true);
    expect(asksResourceNonce(401, ['Bearer realm="x"', 'DPoP algs="ES256", error="use_dpop_nonce"'])).toBe(true);
    expect(asksResourceNonce(401, 'DPoP error="invalid_token"')).toBe(false);
    expect(asksResourceNonce(400, 'DPoP error="use_dpop_nonce"')).toBe(false);
    expect(asksResourceNonce(401, undefined)).toBe(false);
  });
});
