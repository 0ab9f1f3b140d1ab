import type { Context, Hono } from 'hono';
import type { AuthorizationServer } from '../adapters/authorization-server.ts';
import type { ClientAuthentication } from '../adapters/client-authentication.ts';
import type { SessionKeySource } from '../adapters/session-keys.ts';
import { requestTokens } from '../adapters/token-endpoint.ts';
import { originCheck, readJsonBody } from '../app/http.ts';
import { METRIC, type Telemetry } from '../app/observability.ts';
import { proxyApp, startDeadline, type ProxyAppOptions, type ProxyEnv } from '../app/proxy-app.ts';
import type { TokenConfig } from '../core/config.ts';
import { checkProofShape, proofThumbprint } from '../core/spa-dpop-proof.ts';
import { UpstreamError } from '../core/errors.ts';
import { bindRefreshToken, unbindRefreshToken, type BoundRefreshToken } from '../core/refresh-binding.ts';
import { parseTokenRequest, type TokenRequest } from '../core/token-request.ts';

export interface TokenDependencies {
  readonly config: TokenConfig;
  readonly authorizationServer: AuthorizationServer;
  readonly clientAuthentication: ClientAuthentication;
  /** With DPoP (config.dpop): seals and opens the refresh tokens bound to the SPA's key. */
  readonly sessionKeys?: Pick<SessionKeySource, 'seal' | 'open'>;
  readonly telemetry: Telemetry;
  readonly originVerification?: ProxyAppOptions['originVerification'];
  readonly clock: () => number;
}

/** RFC 6749 5.1: token responses are never cached. */
const TOKEN_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/**
 * POST /token: the code exchange and refresh the SPA cannot make itself, because the client is
 * confidential. Same limits, Origin check, errors and no-leak rules as /par. With DPoP (RFC 9449)
 * the SPA's proof is forwarded, and the refresh token is handed out sealed to the proof's key.
 */
export function createTokenApp(deps: TokenDependencies): Hono<ProxyEnv> {
  const { config, clock } = deps;
  if (config.dpop !== undefined && deps.sessionKeys === undefined) throw new Error('DPoP seals refresh tokens: the session keys are needed');
  const app = proxyApp(deps);
  // The SPA sends its proof in a DPoP header and reads the server's nonce (RFC 9449 8).
  const cors = config.dpop === undefined ? {} : { allowHeaders: 'content-type, dpop', exposeHeaders: 'dpop-nonce' };
  app.use('/token', originCheck(config.allowedOrigins, 'POST', cors));
  app.post('/token', async (c) => {
    const request = parseTokenRequest(await readJsonBody(c), config.allowedRedirectUris, config.dpop !== undefined);
    if (config.dpop !== undefined) return dpopTokens(c, deps, request);
    const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
    // Upstream times (the authorization server, the secret, a client assertion) are reported by the adapters.
    const tokens = await requestTokens(deps.authorizationServer, deps.clientAuthentication, config.clientId, request, deadline);
    c.set('success', METRIC.tokensIssued);
    return c.body(tokens.json, 200, TOKEN_HEADERS);
  });
  return app;
}

/**
 * RFC 9449 5: the grant with the SPA's proof, checked in shape and signature before any remote call.
 * A refresh token opens only for a proof of the key it was sealed to; the answer's refresh token is
 * sealed to that key in turn, so the answer is no longer the server's byte for byte.
 */
async function dpopTokens(c: Context<ProxyEnv>, deps: TokenDependencies, request: TokenRequest): Promise<Response> {
  const { config, clock } = deps;
  const keys = deps.sessionKeys!;
  const proof = checkProofShape(c.req.header('dpop'));
  const jkt = await proofThumbprint(proof);
  const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
  const now = () => Math.floor(clock() / 1000);
  // The keys are cached per container: Secrets Manager's time is reported only when they were loaded.
  const open = async (value: string) => (await deadline.cached('secrets_manager', (signal) => keys.open(value, 'refresh', now(), signal))).payload;
  const seal = (payload: BoundRefreshToken) => deadline.cached('secrets_manager', (signal) => keys.seal(payload, 'refresh', signal));
  let grant = request;
  if (request.grant_type === 'refresh_token') {
    grant = { ...request, refresh_token: await unbindRefreshToken(request.refresh_token, jkt, open) };
  }
  const tokens = await requestTokens(deps.authorizationServer, deps.clientAuthentication, config.clientId, grant, deadline, {
    proof: proof.proof,
    onNonce: (nonce) => c.header('DPoP-Nonce', nonce),
  });
  // RFC 9449 5: a proof was sent, so a Bearer token means the server ignored it; the SPA would
  // hold a token any thief can use.
  if (String(tokens.body.token_type).toLowerCase() !== 'dpop') {
    throw new UpstreamError('the authorization server answered a token_type other than DPoP to a DPoP proof', 'authorization_server');
  }
  const body = { ...tokens.body };
  if (typeof body.refresh_token === 'string') {
    body.refresh_token = await bindRefreshToken(body.refresh_token, jkt, now(), seal);
  }
  c.set('success', METRIC.tokensIssued);
  return c.body(JSON.stringify(body), 200, TOKEN_HEADERS);
}

