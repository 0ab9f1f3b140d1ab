import { OAuthError } from './errors.ts';
import type { OpenedPayload, SealablePayload } from './sealed-cookie.ts';

/**
 * RFC 9449 5: an authorization server binds a public client's refresh tokens to its DPoP key, not a
 * confidential client's. In relay mode the SPA holds the refresh token of a confidential client, so
 * script that reads it could refresh from anywhere through /token. The proxy closes that gap: it
 * hands the SPA the refresh token sealed together with the thumbprint of the key whose proof redeemed
 * the code, and opens it only for a proof of that same key, before anything reaches the server. The
 * key is a non-extractable WebCrypto key: script can use it while the page is open, never take it.
 */

/** RFC 6749 5.2: the refresh token is not one this proxy sealed, or not for this key. */
export class InvalidGrantError extends OAuthError {
  override readonly name = 'InvalidGrantError';
  constructor(description: string) {
    super(400, 'invalid_grant', description);
  }
}

/**
 * Seconds a sealed refresh token opens. The authorization server's own lifetime still applies (and is
 * usually shorter: Auth0 30 days, oidc-provider 14); this only makes sure a sealed value does not open
 * forever. Two rotations of the session keys also end it.
 */
export const SEALED_REFRESH_TOKEN_TTL = 90 * 24 * 3600;

export interface BoundRefreshToken extends SealablePayload {
  /** The authorization server's refresh token. */
  readonly rt: string;
  /** RFC 9449 6.1: base64url SHA-256 thumbprint of the DPoP key. */
  readonly jkt: string;
}

export async function bindRefreshToken(
  refreshToken: string,
  jkt: string,
  nowSeconds: number,
  seal: (payload: BoundRefreshToken) => Promise<string>,
): Promise<string> {
  return seal({ rt: refreshToken, jkt, exp: nowSeconds + SEALED_REFRESH_TOKEN_TTL });
}

/** The server's refresh token inside `value`, if it was sealed for the key of thumbprint `jkt`. */
export async function unbindRefreshToken(
  value: string,
  jkt: string,
  open: (value: string) => Promise<OpenedPayload | undefined>,
): Promise<string> {
  const payload = await open(value);
  if (payload === undefined || typeof payload.rt !== 'string' || typeof payload.jkt !== 'string') {
    throw new InvalidGrantError('the refresh token is not one this proxy issued, or it has expired');
  }
  if (payload.jkt !== jkt) throw new InvalidGrantError('the refresh token is bound to another DPoP key');
  return payload.rt;
}
