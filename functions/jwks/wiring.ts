import { kmsClient } from '../adapters/aws-clients.ts';
import { KmsSigner } from '../adapters/kms-signer.ts';
import { powertoolsTelemetry } from '../app/observability.ts';
import { loadJwksConfig, type Env } from '../core/config.ts';
import { createJwksApp } from './app.ts';

/** The JWKS app with its production adapters, from the environment (validated here, once). */
export function jwksAppFromEnv(env: Env, clock: () => number = Date.now) {
  const config = loadJwksConfig(env);
  const kms = kmsClient({ timeoutMs: config.upstreamTimeoutMs });
  return createJwksApp({
    keys: config.keys.map((key) => new KmsSigner(kms, key)),
    telemetry: powertoolsTelemetry('jwks'),
    clock,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
  });
}
