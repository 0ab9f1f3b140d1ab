import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { AsyncCache } from '../core/cache.ts';
import type { Deadline } from '../core/deadline.ts';
import { OAuthError, UpstreamError } from '../core/errors.ts';
import { jsonObject, type AuthorizationServer } from './authorization-server.ts';

/**
 * The ID token of a code exchange, validated as OpenID Connect Core 1.0 3.1.3.7 asks: signed by a
 * key of the authorization server's JWKS (from discovery, fetched with the proxy's HTTP client),
 * issuer, audience, authorized party, expiry, issue time and nonce. jose does the JWS part.
 */

/** Asymmetric algorithms only: never `none`, never HS* (3.1.3.7 item 8 would key them with the client secret). */
export const ASYMMETRIC_ALGS: ReadonlySet<string> = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);
/** The JWKS is kept this long per container. */
export const JWKS_TTL_MS = 10 * 60_000;
/** An unknown kid refetches the JWKS (the server rotated its keys), at most this often. */
export const JWKS_REFETCH_INTERVAL_MS = 60_000;
/** Clock skew allowed on exp and iat, oauth4webapi's default. */
export const CLOCK_TOLERANCE_S = 30;

/**
 * 502 `invalid_id_token`: the authorization server's ID token failed a check; the login fails. The
 * server's doing (PKCE already bound the code to this login), so its metric names that upstream.
 */
export class InvalidIdTokenError extends OAuthError {
  override readonly name = 'InvalidIdTokenError';
  constructor(description: string) {
    super(502, 'invalid_id_token', description, undefined, 'authorization_server');
  }
}

/** 400: a back-channel logout token that does not verify (Back-Channel Logout 1.0 2.8). */
export class LogoutTokenError extends OAuthError {
  override readonly name = 'LogoutTokenError';
  constructor(description: string) {
    super(400, 'invalid_request', description);
  }
}

export type IdTokenClaims = Readonly<JWTPayload & { iss: string; sub: string; exp: number; iat: number }>;

interface KeySet {
  readonly getKey: ReturnType<typeof createLocalJWKSet>;
  readonly loadedAt: number;
}

export class IdTokenVerifier {
  private readonly keySets: AsyncCache<KeySet>;
  private refetching?: Promise<KeySet>;
  private refetchedAt = Number.NEGATIVE_INFINITY;
  private jwksUri = '';

  constructor(
    private readonly server: AuthorizationServer,
    private readonly clientId: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.keySets = new AsyncCache((signal) => this.load(signal), JWKS_TTL_MS, clock);
  }

  /** The verified claims of `idToken`, which must carry `nonce` (the one this login sent). */
  verify(idToken: string, nonce: string, deadline: Deadline): Promise<IdTokenClaims> {
    return this.signedBy((getKey, algorithms) => this.check(idToken, nonce, getKey, algorithms), deadline, invalid);
  }

  /**
   * OpenID Connect Back-Channel Logout 1.0 2.6 steps 2-3 (and 4's iat): a logout token, validated as
   * an ID token without nonce, with the same JWKS cache. The caller checks events, sid/sub, nonce and
   * jti (functions/bff/backchannel-logout.ts). Any failure is a LogoutTokenError (400).
   */
  verifyLogoutToken(token: string, deadline: Deadline): Promise<IdTokenClaims> {
    const refused = (error: unknown) => (error instanceof OAuthError && !(error instanceof InvalidIdTokenError) ? error : new LogoutTokenError(invalid(error).description.replace('ID token', 'logout token')));
    return this.signedBy((getKey, algorithms) => this.check(token, undefined, getKey, algorithms, 'logout+jwt'), deadline, refused);
  }

  /** `check` with the server's keys and the algorithms it signs with; any failure through `fail`. */
  private async signedBy<T>(check: (getKey: KeySet['getKey'], algorithms: string[]) => Promise<T>, deadline: Deadline, fail: (error: unknown) => OAuthError): Promise<T> {
    const algorithms = await this.algorithms(deadline);
    try {
      return await this.withServerKeys(deadline, (getKey) => check(getKey, algorithms));
    } catch (error) {
      throw fail(error);
    }
  }

  /**
   * Runs `check` (a jose verification) against the authorization server's JWKS, for any JWT the
   * server signs (the ID token, a logout token, a JARM response): the same cache, and one more try
   * after a refetch when no key matched (the server rotated its keys). jose's errors reach the caller.
   */
  async withServerKeys<T>(deadline: Deadline, check: (getKey: KeySet['getKey']) => Promise<T>): Promise<T> {
    const keys = await this.keys(deadline);
    try {
      return await check(keys.getKey);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      const fresh = await this.refetched(keys, deadline);
      if (fresh === undefined) throw error;
      return check(fresh.getKey);
    }
  }

  /** Loads discovery and the JWKS ahead of the first login (cold start). */
  async prefetch(deadline: Deadline): Promise<void> {
    await this.keys(deadline);
  }

  /** `nonce` undefined: a logout token, which must have none (Back-Channel Logout 1.0 2.6 step 7) and may be typed `typ`. */
  private async check(idToken: string, nonce: string | undefined, getKey: KeySet['getKey'], algorithms: string[], typ?: string): Promise<IdTokenClaims> {
    const { payload, protectedHeader } = await jwtVerify(idToken, getKey, {
      algorithms,
      issuer: this.server.issuer, // item 2: exactly
      audience: this.clientId, // item 3
      // A logout token names a sub or a sid (2.4): the caller checks which.
      requiredClaims: typ === undefined ? ['sub', 'exp', 'iat'] : ['exp', 'iat', 'jti', 'events'],
      clockTolerance: CLOCK_TOLERANCE_S, // item 9
      currentDate: new Date(this.clock()),
    });
    if ((typ === undefined || payload.sub !== undefined) && (typeof payload.sub !== 'string' || payload.sub === '')) {
      throw new InvalidIdTokenError('the ID token\'s "sub" claim is not valid');
    }
    // Items 4-5: several audiences need an azp; an azp must be this client.
    const several = Array.isArray(payload.aud) && payload.aud.length > 1;
    if ((several && payload.azp === undefined) || (payload.azp !== undefined && payload.azp !== this.clientId)) {
      throw new InvalidIdTokenError('the ID token\'s "azp" claim is not this client');
    }
    // Item 10: jose checks iat only against a maximum age; an iat in the future is refused here.
    if ((payload.iat as number) > this.clock() / 1000 + CLOCK_TOLERANCE_S) {
      throw new InvalidIdTokenError('the ID token\'s "iat" claim is in the future');
    }
    // Item 11: the nonce this login sent.
    if (payload.nonce !== nonce) throw new InvalidIdTokenError('the ID token\'s "nonce" claim is not the one sent');
    // Back-Channel Logout 1.0 2.4 recommends explicit typing; any other typ is another kind of token.
    const headerTyp = protectedHeader.typ?.toLowerCase().replace(/^application\//, '');
    if (typ !== undefined && headerTyp !== undefined && headerTyp !== typ) throw new InvalidIdTokenError('the ID token\'s "typ" header is not logout+jwt');
    return payload as IdTokenClaims;
  }

  /** Items 6-7: what the server says it signs ID tokens with, asymmetric only; the JWK's alg narrows further. */
  private async algorithms(deadline: Deadline): Promise<string[]> {
    const advertised = await this.server.metadata('id_token_signing_alg_values_supported', deadline);
    const listed = Array.isArray(advertised) ? advertised.filter((alg) => ASYMMETRIC_ALGS.has(alg)) : [...ASYMMETRIC_ALGS];
    if (listed.length === 0) {
      throw new InvalidIdTokenError('the authorization server signs ID tokens with no algorithm the proxy accepts');
    }
    return listed;
  }

  private async keys(deadline: Deadline): Promise<KeySet> {
    this.jwksUri = await this.server.endpoint('jwks', deadline);
    // Timed only when fetched: the key set is cached for minutes.
    return deadline.cached('authorization_server', (signal) => this.keySets.get(signal));
  }

  /**
   * A kid the cached JWKS lacks: one refetch shared by concurrent requests, at most every
   * JWKS_REFETCH_INTERVAL_MS (else what is cached now, which another request may have refetched);
   * undefined when there is nothing newer than `stale`.
   */
  private async refetched(stale: KeySet, deadline: Deadline): Promise<KeySet | undefined> {
    const due = this.clock() - Math.max(stale.loadedAt, this.refetchedAt) >= JWKS_REFETCH_INTERVAL_MS;
    if (this.refetching === undefined && due) {
      this.refetchedAt = this.clock();
      this.keySets.invalidate();
      this.refetching = this.keys(deadline).finally(() => {
        this.refetching = undefined;
      });
    }
    const current = await (this.refetching ?? this.keys(deadline));
    return current === stale ? undefined : current;
  }

  private async load(signal: AbortSignal): Promise<KeySet> {
    const response = await this.server.get(this.jwksUri, signal);
    const body = response.status === 200 ? jsonObject(response.body) : undefined;
    let getKey: KeySet['getKey'] | undefined;
    try {
      if (body !== undefined) getKey = createLocalJWKSet(body as unknown as JSONWebKeySet);
    } catch {
      // A malformed set is the server's failure, like an unreadable one.
    }
    if (getKey === undefined) {
      throw new UpstreamError(`the authorization server's JWKS could not be read (${response.status})`, 'authorization_server');
    }
    return { getKey, loadedAt: this.clock() };
  }
}

/** What a jose refusal of an ID token means, in words safe to show: never the token or a claim's value. */
const invalid = (error: unknown): OAuthError => joseRefusal(error, 'the ID token', (description) => new InvalidIdTokenError(description));

/**
 * A jose refusal of a JWT the authorization server signed (`what`: "the ID token"), as `refuse`
 * makes it, in words safe to show: never the JWT or a claim's value.
 */
export function joseRefusal(error: unknown, what: string, refuse: (description: string) => OAuthError): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof errors.JWTExpired) return refuse(`${what} has expired`);
  if (error instanceof errors.JWTClaimValidationFailed) return refuse(`${what}'s "${error.claim}" claim is not valid`);
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return refuse(`${what} is signed with an algorithm the proxy does not accept`);
  }
  if (error instanceof errors.JWKSNoMatchingKey) return refuse(`no key of the authorization server matches ${what}`);
  if (error instanceof errors.JWKSMultipleMatchingKeys) return refuse(`several keys of the authorization server match ${what}`);
  if (error instanceof errors.JWSSignatureVerificationFailed) return refuse(`${what}'s signature is not valid`);
  if (error instanceof errors.JWKInvalid || error instanceof errors.JWKSInvalid) return refuse(`the authorization server's key for ${what} is not usable`);
  return refuse(`${what} is malformed`);
}
