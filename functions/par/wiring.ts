import type { Hono } from 'hono';
import { AuthorizationServer } from '../adapters/authorization-server.ts';
import { kmsClient } from '../adapters/aws-clients.ts';
import { KmsSigner } from '../adapters/kms-signer.ts';
import { jsonLineTelemetry, stdoutSink, type LogSink } from '../app/observability.ts';
import { prefetch } from '../app/prefetch.ts';
import type { ProxyEnv } from '../app/proxy-app.ts';
import { clientAuthenticationFor, type FromEnv, type Wired } from '../app/wiring.ts';
import { loadParConfig, type Env, type SigningKeyConfig } from '../core/config.ts';
import { createParApp } from './app.ts';

/** The /par app with its production adapters, from the environment (validated here, once); its log lines go to `writeLog`. */
export const fromEnv: FromEnv = (env: Env, clock: () => number = Date.now, writeLog: LogSink = stdoutSink): Wired => {
  const config = loadParConfig(env);
  const kms = kmsClient({ timeoutMs: config.upstreamTimeoutMs });
  const signer = new KmsSigner(kms, config.signingKey);
  const authorizationServer = new AuthorizationServer(config.issuer, {
    par: config.parEndpoint,
    authorization: config.authorizationEndpoint,
  });
  const sameKey = (key: SigningKeyConfig) => key.keyId === config.signingKey.keyId && key.kid === config.signingKey.kid;
  const clientAuthentication = clientAuthenticationFor(
    config,
    (key) => (sameKey(key) ? signer : new KmsSigner(kms, key)),
    clock,
  );
  const app = createParApp({
    config,
    signer,
    authorizationServer,
    clientAuthentication,
    telemetry: jsonLineTelemetry('par', Date.now, writeLog),
    clock,
  });
  return {
    app,
    prefetch: () =>
      prefetch(clock, config.upstreamTimeoutMs, [
        (deadline) => signer.prefetch(() => deadline.sharedSignal()),
        (deadline) => authorizationServer.endpoint('par', deadline),
        (deadline) => clientAuthentication.prefetch(deadline),
      ]),
  };
};

export const parAppFromEnv = (env: Env, clock?: () => number, writeLog?: LogSink): Hono<ProxyEnv> => fromEnv(env, clock, writeLog).app;
