import { errors, jwtVerify } from 'jose';
import type { Deadline } from '../core/deadline.ts';
import { OAuthError } from '../core/errors.ts';
import type { AuthorizationServer } from './authorization-server.ts';
import { ASYMMETRIC_ALGS, CLOCK_TOLERANCE_S, joseRefusal, type IdTokenVerifier } from './id-token.ts';

/**
 * JARM (JWT Secured Authorization Response Mode for OAuth 2.0, response_mode=jwt), as FAPI 2.0
 * Message Signing uses it: the authorization response is one `response` parameter, a JWT the
 * authorization server signed, holding `iss`, `aud`, `exp` and the response's own parameters
 * (code and state, or error). Verified as JARM 4.4 asks, on the ID token verifier's JWKS cache:
 * signed by a key of the server's JWKS with an asymmetric algorithm it advertises (never `none`),
 * `iss` the issuer exactly, `aud` this client, `exp` not passed.
 */

/** FAPI 2.0 Security Profile, cryptography: only these. */
const FAPI2_ALGS: ReadonlySet<string> = new Set(['PS256', 'ES256', 'EdDSA', 'Ed25519']);
/** What the callback reads from a verified response (RFC 6749 4.1.2, 4.1.2.1; RFC 9207). */
const RESPONSE_PARAMETERS = ['iss', 'code', 'state', 'error', 'error_description', 'error_uri'] as const;
/** A response JWT longer than this is no authorization response (a code and state take a few hundred bytes). */
const MAX_RESPONSE_LENGTH = 8192;

/**
 * 400: the authorization response is not one this client accepts. Its descriptions never carry the
 * JWT, a code or a claim's value: they end up in a log line and in the SPA's URL.
 */
export class InvalidAuthorizationResponseError extends OAuthError {
  override readonly name = 'InvalidAuthorizationResponseError';
  constructor(description: string, error = 'invalid_authorization_response') {
    super(400, error, description);
  }
}

export class JarmVerifier {
  constructor(
    private readonly keys: Pick<IdTokenVerifier, 'withServerKeys'>,
    private readonly server: AuthorizationServer,
    private readonly clientId: string,
    /** SECURITY_PROFILE=fapi2: PS256, ES256 and EdDSA only. */
    private readonly fapi2: boolean,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * The callback's parameters in JWT mode: exactly one `response`, nothing beside it (a plain
   * `code` or `state` next to or instead of the JWT is what an attacker injects, JARM 5), and the
   * verified JWT's parameters as a query would carry them.
   */
  async parameters(query: URLSearchParams, deadline: Deadline): Promise<URLSearchParams> {
    const names = [...query.keys()];
    if (names.length !== 1 || names[0] !== 'response') {
      throw new InvalidAuthorizationResponseError('the callback takes one signed response (response_mode=jwt) and no other parameter', 'invalid_request');
    }
    const claims = await this.verify(query.get('response')!, deadline);
    const parameters = new URLSearchParams();
    for (const name of RESPONSE_PARAMETERS) {
      const value = claims[name];
      if (value === undefined) continue;
      if (typeof value !== 'string') throw new InvalidAuthorizationResponseError(`the response JWT's "${name}" is not a string`);
      parameters.set(name, value);
    }
    if (!parameters.has('state')) throw new InvalidAuthorizationResponseError('the response JWT has no state');
    if (!parameters.has('code') && !parameters.has('error')) throw new InvalidAuthorizationResponseError('the response JWT has neither a code nor an error');
    return parameters;
  }

  private async verify(response: string, deadline: Deadline): Promise<Record<string, unknown>> {
    if (response.length > MAX_RESPONSE_LENGTH) throw new InvalidAuthorizationResponseError('the response JWT is too long');
    const algorithms = await this.algorithms(deadline);
    try {
      const { payload } = await this.keys.withServerKeys(deadline, (getKey) =>
        jwtVerify(response, getKey, {
          algorithms,
          issuer: this.server.issuer,
          audience: this.clientId,
          requiredClaims: ['exp'],
          clockTolerance: CLOCK_TOLERANCE_S,
          currentDate: new Date(this.clock()),
        }),
      );
      return payload;
    } catch (error) {
      throw refusal(error);
    }
  }

  private async algorithms(deadline: Deadline): Promise<string[]> {
    const advertised = await this.server.metadata('authorization_signing_alg_values_supported', deadline);
    const allowed = this.fapi2 ? FAPI2_ALGS : ASYMMETRIC_ALGS;
    const listed = (Array.isArray(advertised) ? advertised : [...allowed]).filter((alg): alg is string => allowed.has(alg));
    if (listed.length === 0) throw new InvalidAuthorizationResponseError('the authorization server signs responses with no algorithm the proxy accepts');
    return listed;
  }
}

/** A jose refusal in words safe to show; a failed iss is a mix-up (RFC 9207), named as the query's is. */
function refusal(error: unknown): OAuthError {
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'iss') {
    return new InvalidAuthorizationResponseError('the authorization response comes from another issuer', 'invalid_issuer');
  }
  return joseRefusal(error, 'the response JWT', (description) => new InvalidAuthorizationResponseError(description));
}
