import { calculateJwkThumbprint, compactVerify, EmbeddedJWK, type JWK } from 'jose';
import { OAuthError } from './errors.ts';

/**
 * The SPA's DPoP proof (RFC 9449 4) as the relay /token handles it: its shape is checked here and the
 * proof is then forwarded to the token endpoint unchanged, which checks its claims (htm, htu, iat,
 * jti, nonce). The proxy verifies the signature itself only to learn which key made it (RFC 7638
 * thumbprint), the key its sealed refresh tokens are bound to.
 */

/** RFC 9449 7.1: the error of a token request whose proof is missing or invalid. */
export class InvalidDpopProofError extends OAuthError {
  override readonly name = 'InvalidDpopProofError';
  constructor(description: string) {
    super(400, 'invalid_dpop_proof', description);
  }
}

/**
 * The longest proof accepted. An ES256 proof is about 500 characters; one with an RSA 4096 jwk and a
 * server nonce stays under 2 KiB. Anything longer is refused before it is decoded.
 */
export const MAX_DPOP_PROOF_LENGTH = 4096;

/** RFC 9449 4.2: asymmetric, not none; the algorithms oidc-provider and browsers' WebCrypto sign with. */
export const DPOP_ALGS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519'] as const;

/** RFC 7517, RFC 7518 6: members that only a private (or symmetric) key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface DpopProof {
  /** The DPoP header as the SPA sent it: forwarded byte for byte. */
  readonly proof: string;
  /** Its header's public key (RFC 9449 4.2 `jwk`). */
  readonly jwk: JWK;
}

/** RFC 9449 4.3 checks 1-5: one well-formed JWT, typ dpop+jwt, an asymmetric alg, a public jwk. */
export function checkProofShape(raw: string | undefined): DpopProof {
  const invalid = (why: string) => new InvalidDpopProofError(`the DPoP proof ${why}`);
  if (raw === undefined || raw === '') throw invalid('is missing: send one DPoP header');
  if (raw.length > MAX_DPOP_PROOF_LENGTH) throw invalid(`is longer than ${MAX_DPOP_PROOF_LENGTH} characters`);
  if (!COMPACT_JWS.test(raw)) throw invalid('is not one compact JWS');
  const [header, payload] = raw.split('.').slice(0, 2).map(jsonObject);
  if (header === undefined || payload === undefined) throw invalid('header or payload is not a JSON object');
  if (header.typ !== 'dpop+jwt') throw invalid('typ is not dpop+jwt');
  if (!(DPOP_ALGS as readonly unknown[]).includes(header.alg)) throw invalid('alg is not an asymmetric signature algorithm');
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk) || typeof (jwk as JWK).kty !== 'string') {
    throw invalid('has no public jwk in its header');
  }
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) throw invalid('jwk holds private key material');
  return { proof: raw, jwk: jwk as JWK };
}

/**
 * RFC 9449 4.3 check 6 and RFC 7638: the proof verifies with the jwk of its own header, whose
 * SHA-256 thumbprint (the `jkt`, RFC 9449 6.1) is returned. No network: the key is in the proof.
 */
export async function proofThumbprint(proof: DpopProof): Promise<string> {
  try {
    await compactVerify(proof.proof, EmbeddedJWK, { algorithms: [...DPOP_ALGS] });
    return await calculateJwkThumbprint(proof.jwk, 'sha256');
  } catch {
    throw new InvalidDpopProofError('the DPoP proof signature does not verify with its jwk');
  }
}

function jsonObject(part: string | undefined): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(Buffer.from(part ?? '', 'base64url')));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
