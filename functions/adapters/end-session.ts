import type { Deadline } from '../core/deadline.ts';
import type { AuthorizationServer } from './authorization-server.ts';

/**
 * OpenID Connect RP-Initiated Logout 1.0 2: where the browser goes to end its session at the
 * authorization server. client_id identifies the client (2: what lets a post_logout_redirect_uri
 * be checked without an id_token_hint); no id_token_hint nor any other token, since a URL ends up
 * in histories and logs. Undefined when the server has no end_session_endpoint.
 */
export async function endSessionUrl(
  server: AuthorizationServer,
  clientId: string,
  postLogoutRedirectUri: string | undefined,
  deadline: Deadline,
): Promise<string | undefined> {
  const endpoint = await server.optionalEndpoint('end_session', deadline);
  if (endpoint === undefined) return undefined;
  // 2: the endpoint may carry a query of its own, which is kept.
  const url = new URL(endpoint);
  url.searchParams.set('client_id', clientId);
  if (postLogoutRedirectUri !== undefined) url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
  return url.href;
}
