import type { Deadline } from '../core/deadline.ts';
import { TemporarilyUnavailableError } from '../core/errors.ts';
import { failureOf, retryAfter, type AuthorizationServer } from './authorization-server.ts';
import { postAsClient, type ClientAuthentication } from './client-authentication.ts';
import type { HttpResponse } from './http-client.ts';

/** RFC 7009 2.1: which kind of token is revoked, a hint the server may use to find it faster. */
export type TokenTypeHint = 'refresh_token' | 'access_token';

/** Nothing the browser sent is at fault when a revocation fails: every refusal is the proxy's problem. */
const NO_CALLER_ERRORS: ReadonlySet<string> = new Set();

/**
 * RFC 7009 2.1: revokes `token` at the revocation endpoint as the confidential client,
 * authenticated exactly as for the token endpoint. True when revoked (2.2: also for a token the
 * server no longer knows), false when the server has no revocation endpoint (nothing was sent).
 */
export async function revokeToken(
  server: AuthorizationServer,
  auth: ClientAuthentication,
  clientId: string,
  token: string,
  hint: TokenTypeHint,
  deadline: Deadline,
): Promise<boolean> {
  const url = await server.optionalEndpoint('revocation', deadline);
  if (url === undefined) return false;
  const response = await postAsClient(server, auth, url, { token, token_type_hint: hint, client_id: clientId }, deadline);
  return revocationResult(response);
}

/** RFC 7009 2.2 (200, whatever the body) and 2.2.1 (errors; 503 asks to retry later). */
export function revocationResult(response: HttpResponse): true {
  if (response.status === 200) return true;
  if (response.status === 503) {
    throw new TemporarilyUnavailableError('the authorization server cannot revoke tokens now', 'authorization_server', retryAfter(response));
  }
  throw failureOf(response, 'token revocation request', NO_CALLER_ERRORS);
}
