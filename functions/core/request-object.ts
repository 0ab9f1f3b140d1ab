import { randomFillSync } from 'node:crypto';
import type { Intent } from './intent.ts';

/**
 * The claims of a JWT-Secured Authorization Request (RFC 9101) request object. The proxy owns
 * iss, aud, client_id, response_type and the time claims; everything else comes from the intent,
 * because the authorization server uses only the request object's parameters (RFC 9101 6.3).
 */
export interface RequestObjectClaims extends Omit<Intent, 'response_type'> {
  readonly iss: string;
  readonly aud: string;
  readonly client_id: string;
  readonly response_type: 'code';
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly jti: string;
}

export interface RequestObjectContext {
  readonly clientId: string;
  /** The authorization server's issuer, exactly as configured (the seed: with its trailing slash). */
  readonly issuer: string;
  /** Lifetime in seconds, counted from iat. */
  readonly ttl: number;
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** Defaults to 16 random bytes, base64url: 22 characters, well under the seed's 64-byte limit. */
  readonly jti?: string;
}

/**
 * How far nbf is set back: an authorization server whose clock runs a little behind ours still sees
 * nbf in the past, as the seed demands. FAPI 2.0 accepts up to 10 s of skew; 5 s keeps exp - nbf small.
 */
export const NBF_SKEW_SECONDS = 5;

const JTI_BYTES = 16;
/** CSPRNG bytes drawn 256 jtis at a time (one call instead of one per request); each byte used once. */
const jtiPool = Buffer.alloc(JTI_BYTES * 256);
let jtiOffset = jtiPool.length;

/** 128 random bits, base64url: 22 characters, unique per JWS. */
export function newJti(): string {
  if (jtiOffset === jtiPool.length) {
    randomFillSync(jtiPool);
    jtiOffset = 0;
  }
  jtiOffset += JTI_BYTES;
  return jtiPool.toString('base64url', jtiOffset - JTI_BYTES, jtiOffset);
}

export function requestObjectClaims(intent: Intent, context: RequestObjectContext): RequestObjectClaims {
  const iat = Math.floor(context.now / 1000);
  return {
    ...intent,
    iss: context.clientId,
    aud: context.issuer,
    client_id: context.clientId,
    response_type: 'code',
    iat,
    nbf: iat - NBF_SKEW_SECONDS,
    exp: iat + context.ttl,
    jti: context.jti ?? newJti(),
  };
}
