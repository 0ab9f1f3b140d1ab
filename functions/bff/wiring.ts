import { AuthorizationServer } from '../adapters/authorization-server.ts';
import { dynamoDbClient, secretsManagerClient } from '../adapters/aws-clients.ts';
import { DynamoDbSessionStore } from '../adapters/dynamodb-session-store.ts';
import { IdTokenVerifier } from '../adapters/id-token.ts';
import { JarmVerifier } from '../adapters/jarm.ts';
import { SessionKeySource } from '../adapters/session-keys.ts';
import { jsonLineTelemetry, stdoutSink, type LogSink } from '../app/observability.ts';
import { originVerificationFor } from '../app/origin-verification.ts';
import { prefetch } from '../app/prefetch.ts';
import { requestSigning, type FromEnv, type Wired } from '../app/wiring.ts';
import { loadBffConfig, type Env } from '../core/config.ts';
import type { Deadline } from '../core/deadline.ts';
import { createBffApp } from './app.ts';

/** The bff app with its production adapters, from the environment (validated here, once); its log lines go to `writeLog`. */
export const fromEnv: FromEnv = (env: Env, clock: () => number = Date.now, writeLog: LogSink = stdoutSink): Wired => {
  const config = loadBffConfig(env);
  const origin = originVerificationFor(config, clock);
  const { signer, clientAuthentication } = requestSigning(config, clock);
  const authorizationServer = new AuthorizationServer(config.issuer, {
    par: config.parEndpoint,
    authorization: config.authorizationEndpoint,
    token: config.tokenEndpoint,
  });
  const sessionKeys = new SessionKeySource(secretsManagerClient({ timeoutMs: config.upstreamTimeoutMs }), config.sessionKeysSecretId, clock);
  const idTokens = new IdTokenVerifier(authorizationServer, config.clientId, clock);
  // The response JWTs are checked against the same JWKS cache as the ID tokens.
  const authorizationResponses = new JarmVerifier(idTokens, authorizationServer, config.clientId, config.fapi2, clock);
  const store = config.sessionStore;
  const sessionStore =
    store.kind === 'dynamodb' ? new DynamoDbSessionStore(dynamoDbClient({ timeoutMs: config.upstreamTimeoutMs }), store.tableName, sessionKeys, clock) : undefined;
  const app = createBffApp({
    ...origin.dependencies,
    config,
    signer,
    authorizationServer,
    clientAuthentication,
    sessionKeys,
    idTokens,
    authorizationResponses,
    ...(sessionStore === undefined ? {} : { sessionStore }),
    telemetry: jsonLineTelemetry('bff', Date.now, writeLog),
    clock,
  });
  return {
    app,
    // Everything a first login needs, loaded while Lambda initialises the container.
    prefetch: () =>
      prefetch(clock, config.upstreamTimeoutMs, [
        (deadline) => origin.prefetch(deadline),
        (deadline) => signer.prefetch(() => deadline.sharedSignal()),
        (deadline) => authorizationServer.endpoint('par', deadline),
        (deadline) => clientAuthentication.prefetch(deadline),
        (deadline) => sessionKeys.prefetch(deadline),
        (deadline) => idTokens.prefetch(deadline),
        ...(sessionStore === undefined ? [] : [(deadline: Deadline) => sessionStore.prefetch(deadline)]),
      ]),
  };
};
