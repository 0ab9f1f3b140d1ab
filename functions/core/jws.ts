import { createHash } from 'node:crypto';

/**
 * The JWS algorithms the proxy signs with, and the AWS KMS signing algorithm behind each (field
 * notes: KMS RSASSA_PSS_SHA_256 uses a 32-byte salt, as RFC 7518 3.5 requires for PS256). PS256 is
 * the one both Auth0 and FAPI 2.0 accept.
 */
export const SIGNING_ALGS = {
  PS256: { kms: 'RSASSA_PSS_SHA_256', hash: 'sha256' },
  RS256: { kms: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256' },
  RS384: { kms: 'RSASSA_PKCS1_V1_5_SHA_384', hash: 'sha384' },
} as const;

export type SigningAlg = keyof typeof SIGNING_ALGS;
export type KmsSigningAlgorithm = (typeof SIGNING_ALGS)[SigningAlg]['kms'];

export function isSigningAlg(value: string): value is SigningAlg {
  return Object.hasOwn(SIGNING_ALGS, value);
}

/** RFC 9101 4: request objects carry an explicit type. */
export const REQUEST_OBJECT_TYP = 'oauth-authz-req+jwt';

export interface JwsHeader {
  readonly alg: SigningAlg;
  readonly typ: string;
  readonly kid: string;
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** RFC 7515 5.1: BASE64URL(header) '.' BASE64URL(payload). */
export function signingInput(header: JwsHeader, payload: object): string {
  return `${encode(header)}.${encode(payload)}`;
}

/** The digest KMS signs with MessageType DIGEST: the hash the algorithm names, of the signing input. */
export function signingDigest(alg: SigningAlg, input: string): Buffer {
  return createHash(SIGNING_ALGS[alg].hash).update(input).digest();
}

export function compact(input: string, signature: Uint8Array): string {
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}
