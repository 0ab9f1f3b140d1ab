import type { Deadline } from '../core/deadline.ts';
import { isDpopNonce } from '../core/dpop-nonces.ts';
import type { DpopProver } from '../core/dpop-proof.ts';
import { UpstreamError } from '../core/errors.ts';
import type { TokenRequest } from '../core/token-request.ts';
import { failureOf, jsonObject, oauthError, TOKEN_CALLER_ERRORS, type AuthorizationServer } from './authorization-server.ts';
import { postAsClient, type ClientAuthentication } from './client-authentication.ts';
import type { HttpResponse } from './http-client.ts';

/**
 * RFC 6749 5.1: a successful token response, checked and passed to the SPA byte for byte as the
 * authorization server sent it (`json`), so it is not serialized again.
 */
export interface TokenResponse {
  readonly json: string;
  /** The same response parsed, for the bff, which keeps the tokens itself (`tokenSetOf`). */
  readonly body: Readonly<Record<string, unknown>>;
}

/** RFC 9449: the SPA's proof to forward, and what to do with a nonce the server answers (section 8). */
export interface DpopExchange {
  /** The DPoP header, shape-checked (core/spa-dpop-proof.ts), sent unchanged. */
  readonly proof: string;
  /** Called with every well-formed DPoP-Nonce the token endpoint answers, success or refusal. */
  readonly onNonce: (nonce: string) => void;
}

/** RFC 9449 7.1, 8: refusals of the caller's proof, which the SPA fixes (a new proof, the nonce). */
const DPOP_CALLER_ERRORS: ReadonlySet<string> = new Set([...TOKEN_CALLER_ERRORS, 'invalid_dpop_proof', 'use_dpop_nonce']);

/** RFC 9449 8.1: a well-formed DPoP-Nonce (bounded, since it is passed on to the browser), else none. */
function dpopNonceOf(response: HttpResponse): string | undefined {
  const nonce = response.headers['dpop-nonce'];
  return isDpopNonce(nonce) ? nonce : undefined;
}

/** RFC 6749 5.1: the fields of a successful token response the bff uses, checked. */
export interface TokenSet {
  readonly access_token: string;
  /** RFC 6750 or RFC 9449; compared case-insensitively (RFC 6749 5.1), normalised. */
  readonly token_type: 'Bearer' | 'DPoP';
  /** Seconds, a positive integer. */
  readonly expires_in?: number;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly scope?: string;
}

/**
 * RFC 6749 4.1.3 and 6: redeems a code (with its PKCE verifier, RFC 7636 4.5) or a refresh token as
 * the confidential client, authenticated exactly as for the PAR push. With `dpop`, every attempt
 * carries a fresh proof (RFC 9449 5), and a 400 use_dpop_nonce with a new DPoP-Nonce is tried once
 * more with it (section 8).
 */
export async function requestTokens(
  server: AuthorizationServer,
  auth: ClientAuthentication,
  clientId: string,
  request: TokenRequest,
  deadline: Deadline,
  dpop?: DpopProver | DpopExchange,
): Promise<TokenResponse> {
  const url = await server.endpoint('token', deadline);
  const send = (headers: Readonly<Record<string, string>> | (() => Readonly<Record<string, string>>) = {}) =>
    postAsClient(server, auth, url, { ...request, client_id: clientId }, deadline, false, headers);
  if (dpop === undefined) return parseTokenResponse(await send());
  if (typeof dpop.proof === 'string') {
    // Relay: the SPA's proof, forwarded; the SPA retries with the nonce itself.
    const exchange = dpop as DpopExchange;
    const response = await send({ dpop: exchange.proof });
    const nonce = dpopNonceOf(response);
    if (nonce !== undefined) exchange.onNonce(nonce);
    return parseTokenResponse(response, DPOP_CALLER_ERRORS);
  }
  // bff: the proxy's own proofs, one retry with a new nonce.
  const prover = dpop as DpopProver;
  const proof = () => ({ dpop: prover.proof('POST', url) });
  let response = await send(proof);
  const fresh = prover.nonces.remember(url, response.headers['dpop-nonce']);
  if (fresh && response.status === 400 && oauthError(response)?.error === 'use_dpop_nonce') {
    response = await send(proof);
    prover.nonces.remember(url, response.headers['dpop-nonce']);
  }
  return parseTokenResponse(response);
}

export function parseTokenResponse(response: HttpResponse, callerErrors = TOKEN_CALLER_ERRORS): TokenResponse {
  if (response.status === 200) {
    const body = jsonObject(response.body);
    if (typeof body?.access_token !== 'string' || typeof body.token_type !== 'string') {
      throw new UpstreamError('the authorization server answered 200 without a token', 'authorization_server');
    }
    return { json: response.body, body };
  }
  throw failureOf(response, 'token request', callerErrors);
}

/** `requestTokens` for the bff: the token response parsed and checked rather than passed on. */
export async function requestTokenSet(
  server: AuthorizationServer,
  auth: ClientAuthentication,
  clientId: string,
  request: TokenRequest,
  deadline: Deadline,
  dpop?: DpopProver,
): Promise<TokenSet> {
  return tokenSetOf(await requestTokens(server, auth, clientId, request, deadline, dpop), dpop === undefined ? 'Bearer' : 'DPoP');
}

/**
 * RFC 6749 5.1, with the token_type asked for: DPoP when the request carried a proof (RFC 9449 5;
 * a Bearer token there would be usable by anyone who copied it), else Bearer.
 */
export function tokenSetOf({ body }: TokenResponse, expected: 'Bearer' | 'DPoP' = 'Bearer'): TokenSet {
  const malformed = (what: string) => new UpstreamError(`the authorization server answered a token response with ${what}`, 'authorization_server');
  if (body.access_token === '') throw malformed('an empty access_token');
  if (typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== expected.toLowerCase()) {
    throw malformed(`a token_type other than ${expected}`);
  }
  const expiresIn = body.expires_in;
  if (expiresIn !== undefined && !(Number.isSafeInteger(expiresIn) && (expiresIn as number) > 0)) {
    throw malformed('an expires_in that is not a positive integer');
  }
  const optional: Partial<Record<'refresh_token' | 'id_token' | 'scope', string>> = {};
  for (const field of ['refresh_token', 'id_token', 'scope'] as const) {
    const value = body[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') throw malformed(`a ${field} that is not a non-empty string`);
    optional[field] = value;
  }
  return {
    access_token: body.access_token as string,
    token_type: expected,
    ...(expiresIn === undefined ? {} : { expires_in: expiresIn as number }),
    ...optional,
  };
}
