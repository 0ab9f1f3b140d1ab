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
    // Re-read every minute, so that a moved alias shows its new key well within the JWKS max-age.
    keys: config.keys.map((key) => new KmsSigner(kms, key, { publicKeyTtlMs: 60_000, clock })),
    telemetry: powertoolsTelemetry('jwks'),
    clock,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
  });
}
