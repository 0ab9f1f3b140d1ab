import type { Hono } from 'hono';
import { AuthorizationServer } from '../adapters/authorization-server.ts';
import { jsonLineTelemetry, stdoutSink, type LogSink } from '../app/observability.ts';
import { originVerificationFor } from '../app/origin-verification.ts';
import { prefetch } from '../app/prefetch.ts';
import type { ProxyEnv } from '../app/proxy-app.ts';
import { requestSigning, type FromEnv, type Wired } from '../app/wiring.ts';
import { loadParConfig, type Env } from '../core/config.ts';
import { createParApp } from './app.ts';

/** The /par app with its production adapters, from the environment (validated here, once); its log lines go to `writeLog`. */
export const fromEnv: FromEnv = (env: Env, clock: () => number = Date.now, writeLog: LogSink = stdoutSink): Wired => {
  const config = loadParConfig(env);
  const origin = originVerificationFor(config, clock);
  const { signer, clientAuthentication } = requestSigning(config, clock);
  const authorizationServer = new AuthorizationServer(config.issuer, {
    par: config.parEndpoint,
    authorization: config.authorizationEndpoint,
    token: config.tokenEndpoint,
  });
  const app = createParApp({
    ...origin.dependencies,
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
        (deadline) => origin.prefetch(deadline),
        (deadline) => signer.prefetch(() => deadline.sharedSignal()),
        (deadline) => authorizationServer.endpoint('par', deadline),
        (deadline) => clientAuthentication.prefetch(deadline),
      ]),
  };
};

export const parAppFromEnv = (env: Env, clock?: () => number, writeLog?: LogSink): Hono<ProxyEnv> => fromEnv(env, clock, writeLog).app;
