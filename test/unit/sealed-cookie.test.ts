import { randomBytes } from 'node:crypto';
import { CompactEncrypt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_SEALED_LENGTH, open, seal, sealKey, type KeyRing, type SealKey } from '../../functions/core/sealed-cookie.ts';

/**
 * The sealed cookie codec: JWE compact serialization (RFC 7516 3.1, 7.1) with direct key agreement
 * and AES-256-GCM (RFC 7518 4.5, 5.3), the key named by `kid` and the purpose by `typ`
 * (RFC 7516 4.1.6, 4.1.11).
 */
const NOW = 1_800_000_000;
const payload = { v: 1, exp: NOW + 60, hello: 'wörld' };

const key = () => sealKey(randomBytes(32));
const ring = async (current?: SealKey, previous?: SealKey): Promise<KeyRing> => ({
  current: current ?? (await key()),
  ...(previous === undefined ? {} : { previous }),
});

/** A JWE built by hand with `header` over `plaintext`, with the ring's current key. */
async function forge(keyRing: KeyRing, plaintext: Uint8Array, header: Record<string, unknown>): Promise<string> {
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: keyRing.current.kid, typ: 'bff-session', ...header })
    .encrypt(keyRing.current.key);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('seal and open (RFC 7516 compact serialization, dir + A256GCM)', () => {
  it('opens what it sealed, for each purpose', async () => {
    const keys = await ring();
    for (const purpose of ['session', 'login'] as const) {
      const sealed = await seal(payload, purpose, keys);
      expect(await open(sealed, purpose, keys, NOW)).toEqual({ payload });
    }
  });

  it('writes five base64url parts with an empty encrypted key and a 96-bit IV (RFC 7516 7.1, RFC 7518 4.5, 5.3)', async () => {
    const keys = await ring();
    const sealed = await seal(payload, 'session', keys);
    const parts = sealed.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[1]).toBe('');
    expect(Buffer.from(parts[2]!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(parts[4]!, 'base64url')).toHaveLength(16);
    expect(sealed).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(decodeProtectedHeader(sealed)).toEqual({ alg: 'dir', enc: 'A256GCM', kid: keys.current.kid, typ: 'bff-session' });
    expect(decodeProtectedHeader(await seal(payload, 'login', keys)).typ).toBe('bff-login');
  });

  it('uses a fresh IV every time, so equal payloads do not seal equally', async () => {
    const keys = await ring();
    expect(await seal(payload, 'session', keys)).not.toBe(await seal(payload, 'session', keys));
  });

  it('names the key by the first 8 base64url characters of its SHA-256, never the key itself', async () => {
    const raw = randomBytes(32);
    const { kid } = await sealKey(raw);
    const digest = Buffer.from(await crypto.subtle.digest('SHA-256', raw)).toString('base64url');
    expect(kid).toBe(digest.slice(0, 8));
    expect(raw.toString('base64url')).not.toContain(kid);
  });

  it('refuses a key that is not 32 bytes', async () => {
    await expect(sealKey(randomBytes(16))).rejects.toThrow(/32 bytes/);
  });

  it('refuses to seal a payload without an integer exp', async () => {
    const keys = await ring();
    await expect(seal({ v: 1 } as never, 'session', keys)).rejects.toThrow(/exp/);
    await expect(seal({ exp: 1.5 }, 'session', keys)).rejects.toThrow(/exp/);
  });
});

describe('what does not open is absent, with a reason (never an exception)', () => {
  it('a tampered part: header, IV, ciphertext or tag (RFC 7516 5.2 step 16: the tag fails)', async () => {
    const keys = await ring();
    const sealed = await seal(payload, 'session', keys);
    const parts = sealed.split('.');
    for (const index of [0, 2, 3, 4]) {
      const part = parts[index]!;
      const flipped = `${part.slice(0, 3)}${part[3] === 'A' ? 'B' : 'A'}${part.slice(4)}`;
      const tampered = parts.map((p, i) => (i === index ? flipped : p)).join('.');
      const result = await open(tampered, 'session', keys, NOW);
      expect(result.payload, `part ${index}`).toBeUndefined();
      expect(result.reason).toMatch(/^(malformed|undecryptable|unknown_kid|wrong_purpose)$/);
    }
  });

  it('a truncated value, an empty one, and a value with an encrypted key', async () => {
    const keys = await ring();
    const sealed = await seal(payload, 'session', keys);
    for (const value of [sealed.slice(0, -1), sealed.slice(0, sealed.length / 2), sealed.slice(1), '', '....']) {
      expect((await open(value, 'session', keys, NOW)).payload).toBeUndefined();
    }
    const parts = sealed.split('.');
    parts[1] = 'AAAA';
    expect(await open(parts.join('.'), 'session', keys, NOW)).toEqual({ reason: 'malformed' });
  });

  it('another key under the same kid', async () => {
    const keys = await ring();
    const impostor = await ring({ kid: keys.current.kid, key: (await key()).key });
    expect(await open(await seal(payload, 'session', impostor), 'session', keys, NOW)).toEqual({ reason: 'undecryptable' });
  });

  it('an unknown kid', async () => {
    const sealed = await seal(payload, 'session', await ring());
    expect(await open(sealed, 'session', await ring(), NOW)).toEqual({ reason: 'unknown_kid' });
  });

  it('the other purpose, even under the same key', async () => {
    const keys = await ring();
    expect(await open(await seal(payload, 'login', keys), 'session', keys, NOW)).toEqual({ reason: 'wrong_purpose' });
    expect(await open(await seal(payload, 'session', keys), 'login', keys, NOW)).toEqual({ reason: 'wrong_purpose' });
  });

  it('after its key is dropped from the ring; while it is the previous key, it opens', async () => {
    const old = await key();
    const sealed = await seal(payload, 'session', await ring(old));
    const rotated = await ring(await key(), old);
    expect(await open(sealed, 'session', rotated, NOW)).toEqual({ payload });
    const rotatedTwice = await ring(await key(), rotated.current);
    expect(await open(sealed, 'session', rotatedTwice, NOW)).toEqual({ reason: 'unknown_kid' });
  });

  it('seals with the current key only', async () => {
    const rotated = await ring(await key(), await key());
    expect(decodeProtectedHeader(await seal(payload, 'session', rotated)).kid).toBe(rotated.current.kid);
  });

  it('expired: exp at or before now', async () => {
    const keys = await ring();
    const sealed = await seal(payload, 'session', keys);
    expect((await open(sealed, 'session', keys, payload.exp - 1)).payload).toEqual(payload);
    expect(await open(sealed, 'session', keys, payload.exp)).toEqual({ reason: 'expired' });
  });

  it('a plaintext that is not a JSON object with an integer exp', async () => {
    const keys = await ring();
    const text = (s: string) => new TextEncoder().encode(s);
    for (const plaintext of [text('not json'), text('[1,2]'), text('"x"'), text('null'), text('{"exp":"soon"}'), text('{}'), new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])]) {
      expect(await open(await forge(keys, plaintext, {}), 'session', keys, NOW)).toEqual({ reason: 'invalid_payload' });
    }
  });

  it('a header with anything more or else: zip, crit, jku, another alg or enc (RFC 7516 4.1)', async () => {
    const keys = await ring();
    const plaintext = new TextEncoder().encode(JSON.stringify(payload));
    for (const header of [{ zip: 'DEF' }, { crit: ['exp'], exp: 1 }, { jku: 'https://evil.example/jwks' }, { cty: 'JWT' }, { enc: 'A128GCM' }]) {
      const forged = await forge(keys, plaintext, header).catch(() => undefined);
      if (forged === undefined) continue; // jose would not even produce it
      expect((await open(forged, 'session', keys, NOW)).payload, JSON.stringify(header)).toBeUndefined();
    }
    // The same bytes with the exact header open: the refusals above are the header's doing.
    expect((await open(await forge(keys, plaintext, {}), 'session', keys, NOW)).payload).toEqual(payload);
  });

  it('an oversize value is refused before any decryption', async () => {
    const keys = await ring();
    const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
    const big = await seal({ ...payload, filler: 'x'.repeat(MAX_SEALED_LENGTH) }, 'session', keys);
    expect(await open(big, 'session', keys, NOW)).toEqual({ reason: 'oversize' });
    expect(await open('a'.repeat(10 * MAX_SEALED_LENGTH), 'session', keys, NOW)).toEqual({ reason: 'oversize' });
    expect(decrypt).not.toHaveBeenCalled();
    // ...and one just under the bound still opens.
    const fits = await seal({ ...payload, filler: 'x'.repeat(MAX_SEALED_LENGTH / 2) }, 'session', keys);
    expect((await open(fits, 'session', keys, NOW)).payload).toBeDefined();
    expect(decrypt).toHaveBeenCalled();
  });

  it('a value that is not a string', async () => {
    const keys = await ring();
    for (const value of [undefined, null, 42, {}]) {
      expect(await open(value as never, 'session', keys, NOW)).toEqual({ reason: 'malformed' });
    }
  });
});
