/**
 * RFC 9449 8 and 9: the DPoP-Nonce each server last gave, remembered per origin for the container's
 * life (what openid-client and oauth4webapi do), so that only a container's first request to a
 * server, or the first after the server rotates its nonce, pays the use_dpop_nonce round trip.
 */

/** RFC 9449 8.1: nonce = 1*NQCHAR (%x21 / %x23-5B / %x5D-7E); bounded here. */
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,512}$/;
/** The origins are the authorization server's and the configured APIs': a handful. A cap all the same. */
export const MAX_NONCE_ORIGINS = 64;

export const isDpopNonce = (value: unknown): value is string => typeof value === 'string' && NONCE.test(value);

export class DpopNonces {
  private readonly byOrigin = new Map<string, string>();

  constructor(private readonly maxOrigins = MAX_NONCE_ORIGINS) {}

  get(url: string | URL): string | undefined {
    return this.byOrigin.get(new URL(url).origin);
  }

  /**
   * Keeps the DPoP-Nonce header of an answer from `url` (any answer may carry a new one, section
   * 8.2). True when it is a well-formed nonce other than the one already held: worth one retry.
   */
  remember(url: string | URL, header: string | readonly string[] | undefined | null): boolean {
    if (!isDpopNonce(header)) return false;
    const origin = new URL(url).origin;
    if (this.byOrigin.get(origin) === header) return false;
    this.byOrigin.delete(origin);
    if (this.byOrigin.size >= this.maxOrigins) this.byOrigin.delete(this.byOrigin.keys().next().value!);
    this.byOrigin.set(origin, header);
    return true;
  }
}

/** RFC 9449 7.1: a resource's 401 asking for a nonce: WWW-Authenticate: DPoP ..., error="use_dpop_nonce". */
export function asksResourceNonce(status: number, wwwAuthenticate: string | readonly string[] | undefined): boolean {
  if (status !== 401 || wwwAuthenticate === undefined) return false;
  const values = typeof wwwAuthenticate === 'string' ? [wwwAuthenticate] : wwwAuthenticate;
  return values.some((value) => /(?:^|,)\s*DPoP\b[^]*?\berror\s*=\s*"?use_dpop_nonce"?/i.test(value));
}
