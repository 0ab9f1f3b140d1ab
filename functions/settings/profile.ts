import { nameOf, type Problem, type Setting, type Settings, type Side } from './reader.ts';
import { CLIENT_AUTH_METHOD, DPOP, SECURITY_PROFILE, SIGNING_ALG } from './table.ts';

/**
 * SECURITY_PROFILE=fapi2 fixes what FAPI 2.0 leaves no choice in: the proxy's JWS algorithm (the
 * profile allows PS256, ES256 and EdDSA; the proxy's KMS keys are RSA, so PS256), its client
 * authentication (private_key_jwt or mTLS, never a shared secret) and sender-constrained tokens
 * (FAPI 2.0 Security Profile 5.3.2.2: DPoP here, RFC 9449; mTLS binding needs a client certificate
 * API Gateway's HTTP API cannot present). A setting that contradicts it is
 * a problem naming both, for the functions at cold start and for the deployment at synthesis.
 * `secret` is the side's client secret setting: the functions' CLIENT_SECRET_ID (from the stack), the
 * deployment's clientSecretArn (passed in, so that no function bundles a deployment-only rule).
 */
export function fapi2Problems(s: Settings, side: Side, secret: Setting): Problem[] {
  if (s.get(SECURITY_PROFILE) !== 'fapi2') return [];
  const profile = `${nameOf(SECURITY_PROFILE, side)}=fapi2`;
  const problems: Problem[] = [];
  const contradicts = (name: string | undefined, reason: string) => problems.push({ name: name!, reason: `${reason} with ${profile} (FAPI 2.0)` });

  const alg = s.get(SIGNING_ALG);
  if (!s.failed(SIGNING_ALG) && alg !== 'PS256') contradicts(nameOf(SIGNING_ALG, side), `must be PS256, got ${alg},`);
  const method = s.get(CLIENT_AUTH_METHOD);
  if (!s.failed(CLIENT_AUTH_METHOD) && method !== 'private_key_jwt') {
    contradicts(nameOf(CLIENT_AUTH_METHOD, side), `must be private_key_jwt, got ${method}: no client secret is allowed`);
  }
  s.get(secret);
  if (s.given(secret)) contradicts(nameOf(secret, side), 'must be unset: no client secret is allowed');
  if (s.get(DPOP) === false && s.given(DPOP)) {
    contradicts(nameOf(DPOP, side), 'must be true or unset (sender-constrained tokens), got false,');
  }
  return problems;
}

/** Whether the tokens are DPoP-bound: DPOP=true, or the profile, which implies it. The one place both sides ask. */
export function dpopOn(s: Settings): boolean {
  return s.get(DPOP) === true || s.get(SECURITY_PROFILE) === 'fapi2';
}
