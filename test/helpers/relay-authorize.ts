import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { ApiGatewayHandler } from '../../functions/app/lambda.ts';
import type { LocalStack } from '../../local/stack.ts';
import { logIn } from './browser-session.ts';
import { invoke, type Answer } from './harness.ts';

/**
 * Relay mode's first half, as the SPA makes it: POST /par with a fresh PKCE verifier and state, then
 * the login at oidc-provider up to the redirect URI. The code and verifier are for POST /token.
 */
export async function authorizeThroughPar(
  par: ApiGatewayHandler,
  stack: LocalStack,
  intent: Record<string, unknown>,
  user = 'grace.hopper',
): Promise<{ code: string; verifier: string; pushed: Answer }> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const pushed = await invoke(par, {
    headers: { origin: stack.proxyUrl },
    body: {
      redirect_uri: stack.redirectUri,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state,
      ...intent,
    },
  });
  expect(pushed.status, pushed.raw).toBe(201);
  const callback = await logIn(pushed.body.authorization_url as string, stack.redirectUri, user);
  expect(callback.searchParams.get('state')).toBe(state);
  return { code: callback.searchParams.get('code')!, verifier, pushed };
}
