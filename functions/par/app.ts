import type { Hono } from 'hono';
import type { AuthorizationServer } from '../adapters/authorization-server.ts';
import type { ClientAuthentication } from '../adapters/client-authentication.ts';
import type { KmsSigner } from '../adapters/kms-signer.ts';
import { originCheck, readJsonBody } from '../app/http.ts';
import { METRIC, type Telemetry } from '../app/observability.ts';
import { proxyApp, startDeadline, type ProxyAppOptions, type ProxyEnv } from '../app/proxy-app.ts';
import { signAndPush } from '../app/pushed-login.ts';
import type { ParConfig } from '../core/config.ts';
import { parseIntent } from '../core/intent.ts';

export interface ParDependencies {
  readonly config: ParConfig;
  readonly signer: Pick<KmsSigner, 'signJwt'>;
  readonly authorizationServer: AuthorizationServer;
  readonly clientAuthentication: ClientAuthentication;
  readonly telemetry: Telemetry;
  readonly originVerification?: ProxyAppOptions['originVerification'];
  /** Milliseconds since the epoch. */
  readonly clock: () => number;
}

/**
 * POST /par: a validated intent becomes a KMS-signed request object (RFC 9101), pushed to the
 * authorization server (RFC 9126); the SPA gets the request_uri and the URL to send the browser to.
 */
export function createParApp(deps: ParDependencies): Hono<ProxyEnv> {
  const { config, clock } = deps;
  const app = proxyApp(deps);
  app.use('/par', originCheck(config.allowedOrigins, 'POST'));
  app.post('/par', async (c) => {
    const intent = parseIntent(await readJsonBody(c), config);
    const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
    const pushed = await signAndPush(deps, intent, deadline);
    c.set('success', METRIC.pushed);
    return c.json(pushed, 201, { 'Cache-Control': 'no-store' });
  });
  return app;
}
