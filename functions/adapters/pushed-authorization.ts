import type { Deadline } from '../core/deadline.ts';
import { UpstreamError } from '../core/errors.ts';
import { CALLER_ERRORS, failureOf, jsonObject, type AuthorizationServer } from './authorization-server.ts';
import { postAsClient, type ClientAuthentication } from './client-authentication.ts';
import type { HttpResponse } from './http-client.ts';

export interface PushedAuthorization {
  readonly requestUri: string;
  readonly expiresIn: number;
}

/**
 * RFC 9126 2.1: pushes a signed request object with the client's authentication. Only client_id and
 * request are sent: every authorization parameter is inside the request object (RFC 9101 6.3).
 */
export async function pushAuthorizationRequest(
  server: AuthorizationServer,
  auth: ClientAuthentication,
  clientId: string,
  requestObject: string,
  deadline: Deadline,
): Promise<PushedAuthorization> {
  const url = await server.endpoint('par', deadline);
  // Pushed twice, a request only leaves an unused request_uri behind (RFC 9126 2.2): a push that met
  // a pooled socket the server had closed is sent again.
  const response = await postAsClient(server, auth, url, { client_id: clientId, request: requestObject }, deadline, true);
  return parsePushResponse(response);
}

/** RFC 9126 2.2 (201 with request_uri and expires_in) and 2.3 (errors). */
export function parsePushResponse(response: HttpResponse): PushedAuthorization {
  if (response.status === 201) {
    const body = jsonObject(response.body);
    const requestUri = body?.request_uri;
    const expiresIn = body?.expires_in;
    if (typeof requestUri !== 'string' || requestUri === '' || requestUri.length > 2048) {
      throw new UpstreamError('the authorization server answered 201 without a request_uri', 'authorization_server');
    }
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new UpstreamError('the authorization server answered 201 without a valid expires_in', 'authorization_server');
    }
    return { requestUri, expiresIn };
  }
  throw failureOf(response, 'pushed authorization request', CALLER_ERRORS);
}
