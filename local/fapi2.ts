import type { ClientMetadata, Configuration } from 'oidc-provider';
import type { LocalClient } from './authorization-server.ts';

/**
 * The local oidc-provider as a FAPI 2.0 authorization server: Security Profile (PAR, PKCE S256,
 * private_key_jwt with `aud` = the issuer, the iss response parameter, a redirect_uri on every
 * request, request objects with exp, nbf and aud and at most 60 minutes between nbf and exp) and
 * Message Signing (signed request objects, signed authorization responses: JARM, response_mode=jwt).
 * PS256 is the only algorithm for every JWS either side makes. oidc-provider's `fapi` feature
 * enforces the profile's rules itself; what it leaves to configuration is set here. DPoP-bound
 * tokens are the separate `dpop` switch of startLocalAuthorizationServer.
 */
export type LocalProfile = 'fapi2';

/** The one algorithm (FAPI 2.0 Security Profile 5.4.1 allows PS256, ES256, EdDSA; the proxy's KMS keys are RSA). */
export const FAPI2_ALG = 'PS256';

/** Every client's signed responses, the resource server's introspection client's too: PS256. */
export const FAPI2_SIGNED_RESPONSES = {
  id_token_signed_response_alg: FAPI2_ALG,
  authorization_signed_response_alg: FAPI2_ALG,
} as const satisfies Partial<ClientMetadata>;

/** What a client of a FAPI 2.0 server is registered with, beyond the usual. */
export function fapi2Client(client: LocalClient): Partial<ClientMetadata> {
  if (client.authMethod !== 'private_key_jwt' || client.requestObjectAlg !== FAPI2_ALG) {
    throw new Error(`the fapi2 profile registers private_key_jwt clients signing with ${FAPI2_ALG} only, got ${client.authMethod} and ${client.requestObjectAlg}`);
  }
  return FAPI2_SIGNED_RESPONSES;
}

/** The server's configuration with the FAPI 2.0 profile on: no secrets, PS256 only, JARM available. */
export function fapi2Configuration(base: Configuration): Configuration {
  return {
    ...base,
    clientAuthMethods: ['private_key_jwt'],
    responseTypes: ['code'],
    enabledJWA: {
      ...base.enabledJWA,
      requestObjectSigningAlgValues: [FAPI2_ALG],
      clientAuthSigningAlgValues: [FAPI2_ALG],
      idTokenSigningAlgValues: [FAPI2_ALG],
      authorizationSigningAlgValues: [FAPI2_ALG],
    },
    features: {
      ...base.features,
      fapi: { enabled: true, profile: '2.0' },
      jwtResponseModes: { enabled: true },
    },
  };
}
