import type { Hono } from 'hono';
import { AuthorizationServer } from '../adapters/authorization-server.ts';
import { kmsClient, secretsManagerClient } from '../adapters/aws-clients.ts';
import { KmsSigner } from '../adapters/kms-signer.ts';
import { SessionKeySource } from '../adapters/session-keys.ts';
import { jsonLineTelemetry, stdoutSink, type LogSink } from '../app/observability.ts';
import { originVerificationFor } from '../app/origin-verification.ts';
import { prefetch } from '../app/prefetch.ts';
import type { ProxyEnv } from '../app/proxy-app.ts';
import { clientAuthenticationFor, type FromEnv, type Wired } from '../app/wiring.ts';
import { loadTokenConfig, type Env } from '../core/config.ts';
import type { Deadline } from '../core/deadline.ts';
import { createTokenApp } from './app.ts';

/** The /token app with its production adapters, from the environment (validated here, once); its log lines go to `writeLog`. */
export const fromEnv: FromEnv = (env: Env, clock: () => number = Date.now, writeLog: LogSink = stdoutSink): Wired => {
  const config = loadTokenConfig(env);
  const origin = originVerificationFor(config, clock);
  const authorizationServer = new AuthorizationServer(config.issuer, { token: config.tokenEndpoint });
  // The KMS client is built only for private_key_jwt.
  const clientAuthentication = clientAuthenticationFor(
    config,
    (key) => new KmsSigner(kmsClient({ timeoutMs: config.upstreamTimeoutMs }), key),
    clock,
  );
  // DPoP: the refresh tokens handed to the SPA are sealed to its key with the session keys.
  const sessionKeys =
    config.dpop === undefined
      ? undefined
      : new SessionKeySource(secretsManagerClient({ timeoutMs: config.upstreamTimeoutMs }), config.dpop.sessionKeysSecretId, clock);
  const app = createTokenApp({
    ...origin.dependencies,
    config,
    authorizationServer,
    clientAuthentication,
    ...(sessionKeys === undefined ? {} : { sessionKeys }),
    telemetry: jsonLineTelemetry('token', Date.now, writeLog),
    clock,
  });
  return {
    app,
    prefetch: () =>
      prefetch(clock, config.upstreamTimeoutMs, [
        (deadline) => origin.prefetch(deadline),
        (deadline) => authorizationServer.endpoint('token', deadline),
        (deadline) => clientAuthentication.prefetch(deadline),
        ...(sessionKeys === undefined ? [] : [(deadline: Deadline) => sessionKeys.prefetch(deadline)]),
      ]),
  };
};

export const tokenAppFromEnv = (env: Env, clock?: () => number, writeLog?: LogSink): Hono<ProxyEnv> => fromEnv(env, clock, writeLog).app;
