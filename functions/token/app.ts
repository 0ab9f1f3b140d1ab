import type { Hono } from 'hono';
import type { AuthorizationServer } from '../adapters/authorization-server.ts';
import type { ClientAuthentication } from '../adapters/client-authentication.ts';
import { requestTokens } from '../adapters/token-endpoint.ts';
import { originCheck, readJsonBody } from '../app/http.ts';
import { METRIC, type Telemetry } from '../app/observability.ts';
import { proxyApp, startDeadline, type ProxyAppOptions, type ProxyEnv } from '../app/proxy-app.ts';
import type { TokenConfig } from '../core/config.ts';
import { parseTokenRequest } from '../core/token-request.ts';

export interface TokenDependencies {
  readonly config: TokenConfig;
  readonly authorizationServer: AuthorizationServer;
  readonly clientAuthentication: ClientAuthentication;
  readonly telemetry: Telemetry;
  readonly originVerification?: ProxyAppOptions['originVerification'];
  readonly clock: () => number;
}

/**
 * POST /token: the code exchange and refresh the SPA cannot make itself, because the client is
 * confidential. Same limits, Origin check, errors and no-leak rules as /par.
 */
export function createTokenApp(deps: TokenDependencies): Hono<ProxyEnv> {
  const { config, clock } = deps;
  const app = proxyApp(deps);
  app.use('/token', originCheck(config.allowedOrigins, 'POST'));
  app.post('/token', async (c) => {
    const request = parseTokenRequest(await readJsonBody(c), config.allowedRedirectUris);
    const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
    // Upstream times (the authorization server, the secret, a client assertion) are reported by the adapters.
    const tokens = await requestTokens(deps.authorizationServer, deps.clientAuthentication, config.clientId, request, deadline);
    c.set('success', METRIC.tokensIssued);
    // RFC 6749 5.1: token responses are never cached.
    return c.body(tokens.json, 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  });
  return app;
}
