import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The edge's proof that a request came through it (issue 13): CloudFront adds this header, with a
 * value only it and the functions know, to every request it sends the API (infra/edge.ts). An HTTP
 * API takes no resource policy and no WAF, and its execute-api URL (or a custom domain) stays
 * public, so the functions themselves refuse a request without it.
 */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

/** At least 32 characters: a value anyone could guess proves nothing. The stack generates 64. */
export const MIN_ORIGIN_SECRET_LENGTH = 32;

/** The values the functions accept, as SHA-256 digests: AWSCURRENT, and AWSPREVIOUS while a rotation reaches every edge. */
export type OriginDigests = readonly Buffer[];

export type OriginVerdict = 'verified' | 'missing' | 'mismatch';

export function originDigest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Whether `presented` is one of the accepted values. The digests have one length whatever was sent,
 * so timingSafeEqual compares them in constant time, and every candidate is compared: the time
 * says neither how much of a value matched nor which one did.
 */
export function verifyOrigin(presented: string | undefined, accepted: OriginDigests): OriginVerdict {
  if (presented === undefined || presented === '') return 'missing';
  const digest = originDigest(presented);
  let verified = false;
  for (const candidate of accepted) verified = timingSafeEqual(digest, candidate) || verified;
  return verified ? 'verified' : 'mismatch';
}
