import type { Hono } from 'hono';
import type { AuthorizationServer } from '../adapters/authorization-server.ts';
import type { ClientAuthentication } from '../adapters/client-authentication.ts';
import type { KmsSigner } from '../adapters/kms-signer.ts';
import { pushAuthorizationRequest } from '../adapters/pushed-authorization.ts';
import { originCheck, readJsonBody } from '../app/http.ts';
import { METRIC, type Telemetry } from '../app/observability.ts';
import { proxyApp, startDeadline, type ProxyEnv } from '../app/proxy-app.ts';
import type { ParConfig } from '../core/config.ts';
import type { Deadline } from '../core/deadline.ts';
import { parseIntent } from '../core/intent.ts';
import { REQUEST_OBJECT_TYP } from '../core/jws.ts';
import { requestObjectClaims } from '../core/request-object.ts';

export interface ParDependencies {
  readonly config: ParConfig;
  readonly signer: Pick<KmsSigner, 'signJwt'>;
  readonly authorizationServer: AuthorizationServer;
  readonly clientAuthentication: ClientAuthentication;
  readonly telemetry: Telemetry;
  /** Milliseconds since the epoch. */
  readonly clock: () => number;
}

/**
 * RFC 9207 3, as the discovery document already loaded for the endpoints says. With both endpoints
 * configured there is no document, and the answer is false rather than a fetch the operator chose
 * to avoid: a wrong true would refuse every login from a server that sends no iss, while false
 * still has the SPA check every iss that is sent.
 */
async function issParameterSupported(config: ParConfig, server: AuthorizationServer, deadline: Deadline): Promise<boolean> {
  if (config.parEndpoint !== undefined && config.authorizationEndpoint !== undefined) return false;
  return (await server.metadata('authorization_response_iss_parameter_supported', deadline)) === true;
}

/**
 * POST /par: a validated intent becomes a KMS-signed request object (RFC 9101), pushed to the
 * authorization server (RFC 9126); the SPA gets the request_uri and the URL to send the browser to.
 */
export function createParApp(deps: ParDependencies): Hono<ProxyEnv> {
  const { config, signer, authorizationServer: server, clock } = deps;
  const app = proxyApp(deps);
  app.use('/par', originCheck(config.allowedOrigins, 'POST'));
  app.post('/par', async (c) => {
    const intent = parseIntent(await readJsonBody(c), config);
    const deadline = startDeadline(c, clock, config.upstreamTimeoutMs);
    const claims = requestObjectClaims(intent, {
      clientId: config.clientId,
      issuer: config.issuer,
      ttl: config.requestObjectTtl,
      now: clock(),
    });
    // Each adapter reports its own upstream's time through the deadline (the secret and the client
    // assertion are not the authorization server's).
    const requestObject = await signer.signJwt(claims, REQUEST_OBJECT_TYP, deadline);
    const pushed = await pushAuthorizationRequest(server, deps.clientAuthentication, config.clientId, requestObject, deadline);
    // RFC 9126 4: the browser carries only client_id and request_uri.
    const authorizationUrl = new URL(await server.endpoint('authorization', deadline));
    authorizationUrl.searchParams.set('client_id', config.clientId);
    authorizationUrl.searchParams.set('request_uri', pushed.requestUri);
    c.set('success', METRIC.pushed);
    return c.json(
      {
        request_uri: pushed.requestUri,
        expires_in: pushed.expiresIn,
        authorization_url: authorizationUrl.href,
        // RFC 9207 2.4: what the SPA checks the authorization response's iss against.
        issuer: config.issuer,
        authorization_response_iss_parameter_supported: await issParameterSupported(config, server, deadline),
      },
      201,
      { 'Cache-Control': 'no-store' },
    );
  });
  return app;
}
