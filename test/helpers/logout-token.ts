import { randomUUID } from 'node:crypto';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../functions/bff/backchannel-logout.ts';
import type { LocalStack } from '../../local/stack.ts';

/**
 * A logout token (OpenID Connect Back-Channel Logout 1.0 2.4) made by the local oidc-provider's own
 * model, as its end_session makes one (lib/models/client.js backchannelLogout), with `claims` set or
 * replaced and the claims in `drop` left out; `use` 'idtoken' makes an ID token instead.
 */
export async function logoutToken(stack: LocalStack, claims: Record<string, unknown>, drop: readonly string[] = [], use = 'logout'): Promise<string> {
  const provider = stack.authorizationServer.provider;
  const client = await provider.Client.find(stack.clientId);
  const token = new provider.IdToken({ sub: claims.sub }, { client: client!, ctx: undefined as never });
  (token as unknown as { mask: object }).mask = { sub: null };
  const fields: Record<string, unknown> = { events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, jti: randomUUID(), ...claims };
  for (const [key, value] of Object.entries(fields)) if (!drop.includes(key) && key !== 'sub') token.set(key, value);
  return token.issue({ use: use as never });
}

/** POST /backchannel-logout as the authorization server sends it. */
export function postLogoutToken(proxyUrl: string, body: string, type = 'application/x-www-form-urlencoded'): Promise<Response> {
  return fetch(`${proxyUrl}/backchannel-logout`, { method: 'POST', headers: { 'content-type': type }, body, signal: AbortSignal.timeout(10_000) });
}

export const logoutForm = (token: string): string => new URLSearchParams({ logout_token: token }).toString();
