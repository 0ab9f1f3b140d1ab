import { AuthorizationServer } from '../adapters/authorization-server.ts';
import { kmsClient } from '../adapters/aws-clients.ts';
import { KmsSigner } from '../adapters/kms-signer.ts';
import { clientAuthenticationFor } from '../app/wiring.ts';
import { powertoolsTelemetry } from '../app/observability.ts';
import { loadParConfig, type Env } from '../core/config.ts';
import { createParApp } from './app.ts';

/** The /par app with its production adapters, from the environment (validated here, once). */
export function parAppFromEnv(env: Env, clock: () => number = Date.now) {
  const config = loadParConfig(env);
  const kms = kmsClient({ timeoutMs: config.upstreamTimeoutMs });
  return createParApp({
    config,
    signer: new KmsSigner(kms, config.signingKey),
    authorizationServer: new AuthorizationServer(config.issuer, {
      par: config.parEndpoint,
      authorization: config.authorizationEndpoint,
    }),
    clientAuthentication: clientAuthenticationFor(config, () => kms, clock),
    telemetry: powertoolsTelemetry('par'),
    clock,
  });
}
