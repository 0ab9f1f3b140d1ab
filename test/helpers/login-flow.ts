import { createHash, randomBytes } from 'node:crypto';
import type { LocalStack } from '../../local/stack.ts';
import { logIn } from './browser-session.ts';

/**
 * One whole login through the local stack's HTTP server, as the SPA client makes it: POST /par,
 * the login at oidc-provider, POST /token. Throws with the failing step's answer.
 */
export interface LoginResult {
  readonly tokens: Record<string, unknown>;
  readonly idTokenClaims: Record<string, unknown>;
}

async function post(stack: LocalStack, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${stack.proxyUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: stack.proxyUrl },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

export async function loginThroughProxy(
  stack: LocalStack,
  intent: Record<string, unknown> = {},
  user = 'katherine.johnson',
): Promise<LoginResult> {
  const verifier = randomBytes(32).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const pushed = await post(stack, '/par', {
    redirect_uri: stack.redirectUri,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: 'rotation',
    nonce,
    scope: 'openid',
    ...intent,
  });
  const callback = await logIn(String(pushed.authorization_url), stack.redirectUri, user);
  const code = callback.searchParams.get('code');
  if (code === null) throw new Error(`the callback has no code: ${callback.href}`);
  const tokens = await post(stack, '/token', {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: stack.redirectUri,
  });
  const idTokenClaims = JSON.parse(Buffer.from(String(tokens.id_token).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  if (idTokenClaims.nonce !== nonce) throw new Error('nonce mismatch');
  return { tokens, idTokenClaims };
}
