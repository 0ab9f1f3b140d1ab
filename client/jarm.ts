/**
 * JARM in the browser (response_mode=jwt; JARM 4.4), for the relay SPA client: the authorization
 * response is one `response` JWT, verified here with WebCrypto only (no dependency) against the
 * issuer's JWKS from its discovery document, before anything of it is used. The bff verifies its own
 * (functions/adapters/jarm.ts). Needs the issuer's discovery document and JWKS readable by the SPA's
 * origin (CORS), as OpenID Connect servers usually serve them.
 */
import { webUrl } from './web-url.ts';

export interface JarmExpectations {
  /** The issuer identifier, exactly: the discovery document's `issuer` and the JWT's `iss`. */
  readonly issuer: string;
  /** The JWT's `aud`. */
  readonly clientId: string;
  /** How a refusal is thrown: `error` is an OAuth-style code, `description` safe to show. */
  readonly fail: (error: string, description: string) => Error;
  /** Seconds since the epoch; default now. */
  readonly now?: number;
}

/** Asymmetric only, as WebCrypto verifies them (FAPI 2.0 allows PS256 and ES256 of these). */
const ALGORITHMS: Readonly<Record<string, { import: RsaHashedImportParams | EcKeyImportParams; verify: AlgorithmIdentifier | RsaPssParams | EcdsaParams; kty: string }>> = {
  PS256: { import: { name: 'RSA-PSS', hash: 'SHA-256' }, verify: { name: 'RSA-PSS', saltLength: 32 }, kty: 'RSA' },
  RS256: { import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verify: { name: 'RSASSA-PKCS1-v1_5' }, kty: 'RSA' },
  ES256: { import: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' }, kty: 'EC' },
};
/** Clock skew allowed on exp: the response is seconds old when it arrives, a device clock may be off. */
const EXP_LEEWAY_SECONDS = 60;
const RESPONSE_PARAMETERS = ['iss', 'code', 'state', 'error', 'error_description'] as const;

/** base64url to bytes; a part that is not base64url decodes to nothing usable (empty). */
function decode(part: string): Uint8Array<ArrayBuffer> {
  try {
    return Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  } catch {
    return new Uint8Array();
  }
}

/** A JSON object, or undefined for anything else (invalid UTF-8 or JSON, an array, a string). */
function object(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const json = (part: string) => object(decode(part));

async function getJson(url: URL): Promise<Record<string, unknown> | undefined> {
  const response = await fetch(url, { credentials: 'omit', cache: 'no-store' });
  return response.ok ? object(new Uint8Array(await response.arrayBuffer())) : undefined;
}

/** The issuer's signing keys: its discovery document (whose issuer must be this one) names the JWKS. */
async function issuerKeys(issuer: string): Promise<Record<string, unknown>[] | undefined> {
  const discovery = webUrl(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  const metadata = discovery === undefined ? undefined : await getJson(discovery);
  const jwksUri = metadata?.issuer === issuer ? webUrl(metadata.jwks_uri) : undefined;
  const keys = jwksUri === undefined ? undefined : (await getJson(jwksUri))?.keys;
  return Array.isArray(keys) ? keys.filter((key): key is Record<string, unknown> => typeof key === 'object' && key !== null) : undefined;
}

/**
 * The callback's parameters in JWT mode: exactly one `response` and nothing beside it (a plain code
 * next to or instead of the JWT is an injection), verified, as a query would carry them.
 */
export async function jarmParameters(query: URLSearchParams, expected: JarmExpectations): Promise<URLSearchParams> {
  const { fail } = expected;
  const refuse = (description: string) => fail('invalid_authorization_response', description);
  const names = [...query.keys()];
  if (names.length !== 1 || names[0] !== 'response') throw fail('invalid_request', 'the callback takes one signed response (response_mode=jwt) and no other parameter');
  const parts = query.get('response')!.split('.');
  const header = parts.length === 3 ? json(parts[0]!) : undefined;
  const claims = parts.length === 3 ? json(parts[1]!) : undefined;
  if (header === undefined || claims === undefined) throw refuse('the response is not a signed JWT');
  // Never none or HS*: only what is listed, and only the list's own entries.
  const algorithm = typeof header.alg === 'string' && Object.hasOwn(ALGORITHMS, header.alg) ? ALGORITHMS[header.alg]! : undefined;
  if (algorithm === undefined) throw refuse('the response JWT is not signed with an algorithm this client accepts');

  const keys = (await issuerKeys(expected.issuer)) ?? [];
  const candidates = keys.filter((key) => key.kty === algorithm.kty && (header.kid === undefined || key.kid === header.kid) && (key.use === undefined || key.use === 'sig'));
  if (candidates.length !== 1) throw refuse('no one key of the authorization server matches the response JWT');
  let valid = false;
  try {
    const key = await crypto.subtle.importKey('jwk', candidates[0] as JsonWebKey, algorithm.import, false, ['verify']);
    valid = await crypto.subtle.verify(algorithm.verify, key, decode(parts[2]!), new TextEncoder().encode(`${parts[0]}.${parts[1]}`));
  } catch {
    valid = false;
  }
  if (!valid) throw refuse('the response JWT signature is not valid');

  if (claims.iss !== expected.issuer) throw fail('invalid_issuer', 'the authorization response comes from another issuer');
  const audiences = Array.isArray(claims.aud) ? (claims.aud as unknown[]) : [claims.aud];
  if (audiences.length !== 1 || audiences[0] !== expected.clientId) throw refuse('the response JWT aud is not this client');
  const now = expected.now ?? Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || now >= claims.exp + EXP_LEEWAY_SECONDS) throw refuse('the response JWT exp is missing or has passed');
  const parameters = new URLSearchParams();
  for (const name of RESPONSE_PARAMETERS) {
    const value = claims[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw refuse(`the response JWT ${name} is not a string`);
    parameters.set(name, value);
  }
  if (!parameters.has('state')) throw refuse('the response JWT has no state');
  if (!parameters.has('code') && !parameters.has('error')) throw refuse('the response JWT has neither a code nor an error');
  return parameters;
}
