import type { Hono } from 'hono';
import { kmsClient } from '../adapters/aws-clients.ts';
import { KmsSigner } from '../adapters/kms-signer.ts';
import { jsonLineTelemetry, stdoutSink, type LogSink } from '../app/observability.ts';
import { originVerificationFor } from '../app/origin-verification.ts';
import { prefetch } from '../app/prefetch.ts';
import type { ProxyEnv } from '../app/proxy-app.ts';
import type { FromEnv, Wired } from '../app/wiring.ts';
import { loadJwksConfig, type Env } from '../core/config.ts';
import { createJwksApp } from './app.ts';
import { PublishedKeys } from './published-keys.ts';

/** The JWKS app with its production adapters, from the environment (validated here, once); its log lines go to `writeLog`. */
export const fromEnv: FromEnv = (env: Env, clock: () => number = Date.now, writeLog: LogSink = stdoutSink): Wired => {
  const config = loadJwksConfig(env);
  const origin = originVerificationFor(config, clock);
  const kms = kmsClient({ timeoutMs: config.upstreamTimeoutMs });
  // Re-read every minute, so that a moved alias shows its new key well within the JWKS max-age.
  const keys = new PublishedKeys(
    config.keys.map((key) => ({
      source: new KmsSigner(kms, key, { publicKeyTtlMs: 60_000, clock }),
      keyId: key.keyId,
      active: key.active,
    })),
  );
  const app = createJwksApp({ ...origin.dependencies, keys, telemetry: jsonLineTelemetry('jwks', Date.now, writeLog), clock, upstreamTimeoutMs: config.upstreamTimeoutMs });
  // The prefetch's copies are last good copies too, should a key fail by the first request.
  return {
    app,
    prefetch: () =>
      prefetch(clock, config.upstreamTimeoutMs, [
        (deadline) => origin.prefetch(deadline),
        (deadline) => keys.read(() => deadline.sharedSignal()),
      ]),
  };
};

export const jwksAppFromEnv = (env: Env, clock?: () => number, writeLog?: LogSink): Hono<ProxyEnv> => fromEnv(env, clock, writeLog).app;
