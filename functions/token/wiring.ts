import { AuthorizationServer } from '../adapters/authorization-server.ts';
import { kmsClient } from '../adapters/aws-clients.ts';
import { powertoolsTelemetry } from '../app/observability.ts';
import { clientAuthenticationFor } from '../app/wiring.ts';
import { loadTokenConfig, type Env } from '../core/config.ts';
import { createTokenApp } from './app.ts';

/** The /token app with its production adapters, from the environment (validated here, once). */
export function tokenAppFromEnv(env: Env, clock: () => number = Date.now) {
  const config = loadTokenConfig(env);
  return createTokenApp({
    config,
    authorizationServer: new AuthorizationServer(config.issuer, { token: config.tokenEndpoint }),
    // The KMS client is built only for private_key_jwt.
    clientAuthentication: clientAuthenticationFor(config, () => kmsClient({ timeoutMs: config.upstreamTimeoutMs }), clock),
    telemetry: powertoolsTelemetry('token'),
    clock,
  });
}
