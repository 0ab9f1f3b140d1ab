import type { Deadline } from '../core/deadline.ts';
import { UpstreamError } from '../core/errors.ts';
import type { TokenRequest } from '../core/token-request.ts';
import { failureOf, jsonObject, TOKEN_CALLER_ERRORS, type AuthorizationServer } from './authorization-server.ts';
import { postAsClient, type ClientAuthentication } from './client-authentication.ts';
import type { HttpResponse } from './http-client.ts';

/**
 * RFC 6749 5.1: a successful token response, checked and passed to the SPA byte for byte as the
 * authorization server sent it (`json`), so it is not serialized again.
 */
export interface TokenResponse {
  readonly json: string;
}

/**
 * RFC 6749 4.1.3 and 6: redeems a code (with its PKCE verifier, RFC 7636 4.5) or a refresh token as
 * the confidential client, authenticated exactly as for the PAR push.
 */
export async function requestTokens(
  server: AuthorizationServer,
  auth: ClientAuthentication,
  clientId: string,
  request: TokenRequest,
  deadline: Deadline,
): Promise<TokenResponse> {
  const url = await server.endpoint('token', deadline);
  const response = await postAsClient(server, auth, url, { ...request, client_id: clientId }, deadline);
  return parseTokenResponse(response);
}

export function parseTokenResponse(response: HttpResponse): TokenResponse {
  if (response.status === 200) {
    const body = jsonObject(response.body);
    if (typeof body?.access_token !== 'string' || typeof body.token_type !== 'string') {
      throw new UpstreamError('the authorization server answered 200 without a token', 'authorization_server');
    }
    return { json: response.body };
  }
  throw failureOf(response, 'token request', TOKEN_CALLER_ERRORS);
}
