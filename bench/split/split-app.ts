import { AuthorizationServer } from '../../functions/adapters/authorization-server.ts';
import { lambdaHandler, type ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { jsonLineTelemetry, stdoutSink } from '../../functions/app/observability.ts';
import { inLambda, prefetch } from '../../functions/app/prefetch.ts';
import { createBffApp, type BffDependencies } from '../../functions/bff/app.ts';
import { loadBffConfig, type BffConfig } from '../../functions/core/config.ts';
import type { Deadline } from '../../functions/core/deadline.ts';

/**
 * One function of a bff split by route group, for the split decision (issue 12): the real app
 * (functions/bff/app.ts) with only the adapters its routes use, so that esbuild bundles only those
 * (the KMS client only where /par signs, jose's JWT verification only where the callback verifies),
 * and only their loads prefetched during INIT, as functions/bff/wiring.ts does for all of them. The
 * other routes' code stays in the bundle (a few KiB of app.ts and what it imports): a real split
 * would be slightly smaller, so these cold starts are a little pessimistic, by a few ms at most.
 */
export type SplitParts = Partial<Pick<BffDependencies, 'signer' | 'clientAuthentication' | 'sessionKeys' | 'idTokens'>>;

export interface Split {
  readonly parts: SplitParts;
  readonly loads: readonly ((deadline: Deadline) => Promise<unknown>)[];
}

/** An adapter this function does not hold: any use is a bug of the split. */
const absent = <T>(what: string): T =>
  new Proxy({}, { get: () => () => Promise.reject(new Error(`${what} is not in this function`)) }) as T;

export async function splitHandler(build: (config: BffConfig, server: AuthorizationServer) => Split): Promise<ApiGatewayHandler> {
  const config = loadBffConfig(process.env);
  const server = new AuthorizationServer(config.issuer, {
    par: config.parEndpoint,
    authorization: config.authorizationEndpoint,
    token: config.tokenEndpoint,
  });
  const { parts, loads } = build(config, server);
  const app = createBffApp({
    config,
    authorizationServer: server,
    signer: absent('the signer'),
    clientAuthentication: absent('the client authentication'),
    sessionKeys: absent('the session keys'),
    idTokens: absent('the ID token verifier'),
    ...parts,
    telemetry: jsonLineTelemetry('bff', Date.now, stdoutSink),
    clock: Date.now,
  });
  if (inLambda(process.env)) await prefetch(Date.now, config.upstreamTimeoutMs, loads);
  return lambdaHandler(app);
}

/** For clientAuthenticationFor where the split function holds no KMS client: client_secret_* only. */
export const noSigner = (): never => {
  throw new Error('private_key_jwt needs the KMS signer, which this split function does not hold');
};
