import { constants, createHash, privateEncrypt, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Signs a precomputed digest as AWS KMS does with MessageType DIGEST. Node's sign() always hashes
 * its input, so the encodings of RFC 8017 are applied here and the raw RSA operation done with
 * privateEncrypt. Local stack and tests only.
 */
export type DigestAlgorithm = 'RSASSA_PKCS1_V1_5_SHA_256' | 'RSASSA_PKCS1_V1_5_SHA_384' | 'RSASSA_PSS_SHA_256';

/** RFC 8017 9.2 note 1: the DER DigestInfo prefixes. */
const DIGEST_INFO: Record<string, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
};

export function hashOf(algorithm: DigestAlgorithm): 'sha256' | 'sha384' {
  return algorithm.endsWith('384') ? 'sha384' : 'sha256';
}

export function signDigest(key: KeyObject, algorithm: DigestAlgorithm, digest: Buffer): Buffer {
  const hash = hashOf(algorithm);
  if (algorithm.startsWith('RSASSA_PKCS1_V1_5')) {
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO[hash]!, digest]));
  }
  const modulusBits = key.asymmetricKeyDetails?.modulusLength ?? 2048;
  return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, emsaPssEncode(digest, modulusBits - 1, hash));
}

/** RFC 8017 9.1.1 EMSA-PSS-ENCODE with MGF1 and a salt as long as the hash (RFC 7518 3.5). */
function emsaPssEncode(mHash: Buffer, emBits: number, hash: 'sha256' | 'sha384'): Buffer {
  const hLen = mHash.length;
  const sLen = hLen;
  const emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(sLen);
  const h = createHash(hash).update(Buffer.concat([Buffer.alloc(8), mHash, salt])).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - sLen - hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(h, emLen - hLen - 1, hash);
  for (let i = 0; i < db.length; i += 1) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  const em = Buffer.concat([db, h, Buffer.from([0xbc])]);
  // With emBits = modBits - 1 and modBits a multiple of 8, EM is one byte shorter than the modulus.
  const modulusBytes = Math.ceil((emBits + 1) / 8);
  return em.length === modulusBytes ? em : Buffer.concat([Buffer.alloc(modulusBytes - em.length), em]);
}

function mgf1(seed: Buffer, length: number, hash: 'sha256' | 'sha384'): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * seed.length < length; counter += 1) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(createHash(hash).update(Buffer.concat([seed, c])).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}
