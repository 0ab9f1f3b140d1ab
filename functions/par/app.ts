import type { Hono } from 'hono';
import type { AuthorizationServer } from '../adapters/authorization-server.ts';
import type { ClientAuthentication } from '../adapters/client-authentication.ts';
import type { KmsSigner } from '../adapters/kms-signer.ts';
import { originCheck, readJsonBody } from '../app/http.ts';
import { METRIC, type Telemetry } from '../app/observability.ts';
import { proxyApp, startDeadline, type ProxyAppOptions, type ProxyEnv } from '../app/proxy-app.ts';
import { signAndPush } from '../app/pushed-login.ts';
import type { ParConfig } from '../core/config.ts';
import { InvalidRequestError } from '../core/errors.ts';
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
    // RFC 9449 10: with DPoP the code is bound to the SPA's key, so a stolen code is useless without it.
    if (config.dpop && intent.dpop_jkt === undefined) throw new InvalidRequestError('dpop_jkt is required: this proxy uses DPoP');
    const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
    const pushed = await signAndPush(deps, intent, deadline);
    c.set('success', METRIC.pushed);
    // The SPA's proofs name the token endpoint (RFC 9449 4.2 htu), which it cannot discover itself.
    const answer = config.dpop ? { ...pushed, token_endpoint: await deps.authorizationServer.endpoint('token', deadline) } : pushed;
    return c.json(answer, 201, { 'Cache-Control': 'no-store' });
  });
  return app;
}
