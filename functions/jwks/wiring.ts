import type { Hono } from 'hono';
import { kmsClient } from '../adapters/aws-clients.ts';
import { KmsSigner } from '../adapters/kms-signer.ts';
import { jsonLineTelemetry } from '../app/observability.ts';
import { prefetch } from '../app/prefetch.ts';
import type { ProxyEnv } from '../app/proxy-app.ts';
import { loadJwksConfig, type Env } from '../core/config.ts';
import { createJwksApp } from './app.ts';

/** The JWKS app with its production adapters, from the environment (validated here, once). */
export function jwksFromEnv(env: Env, clock: () => number = Date.now): { app: Hono<ProxyEnv>; prefetch: () => Promise<void> } {
  const config = loadJwksConfig(env);
  const kms = kmsClient({ timeoutMs: config.upstreamTimeoutMs });
  // Re-read every minute, so that a moved alias shows its new key well within the JWKS max-age.
  const keys = config.keys.map((key) => new KmsSigner(kms, key, { publicKeyTtlMs: 60_000, clock }));
  const app = createJwksApp({ keys, telemetry: jsonLineTelemetry('jwks'), clock, upstreamTimeoutMs: config.upstreamTimeoutMs });
  return {
    app,
    prefetch: () =>
      prefetch(clock, config.upstreamTimeoutMs, keys.map((key) => (deadline) => key.publicJwk(() => deadline.sharedSignal()))),
  };
}

export const jwksAppFromEnv = (env: Env, clock?: () => number): Hono<ProxyEnv> => jwksFromEnv(env, clock).app;
