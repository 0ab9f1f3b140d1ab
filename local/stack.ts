import http from 'node:http';
import { randomBytes, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { calculateJwkThumbprint } from 'jose';
import type { LogSink } from '../functions/app/observability.ts';
import type { FromEnv } from '../functions/app/wiring.ts';
import { functionsFor, routePath, type FunctionSpec, type Mode } from '../functions/manifest.ts';
import { bffDemoAssets, demoAssets } from './demo/assets.ts';
import { withAllowedOrigin } from './origin-hint.ts';
import { startLocalResourceServer, type LocalResourceServer } from './resource-server.ts';
import { startLocalAuthorizationServer, type LocalAuthorizationServer, type LocalClient } from './authorization-server.ts';
import type { LocalProfile } from './fapi2.ts';
import { FAKE_REGION, startFakeKms, type FakeKms } from './fake-kms.ts';
import { startFakeSecretsManager, type FakeSecretsManager } from './fake-secrets-manager.ts';
import { startLocalSessionTable, type LocalSessionTable } from './session-table.ts';

/**
 * The whole proxy on one machine: the real handlers' apps, built from environment variables exactly
 * as in Lambda, talking through the real AWS SDK to local KMS and Secrets Manager endpoints, and to
 * a real oidc-provider with PAR and signed request objects required.
 */
export interface LocalStackOptions {
  /** PROXY_MODE: relay (par, token, jwks) or bff (the bff function and jwks). Default relay. */
  readonly mode?: Mode;
  /** The bff's BASE_PATH. */
  readonly basePath?: string;
  /** A refresh token with every code in relay mode too, as bff mode always has (the demo shows a refresh). */
  readonly refreshTokens?: boolean;
  /** Seconds the authorization server's access tokens live (short ones make the bff refresh). */
  readonly accessTokenTtl?: number;
  /** The proxy's port (0: any free one). */
  readonly port?: number;
  /** The authorization server's port (0: any free one). */
  readonly authorizationServerPort?: number;
  /** localhost for a browser, 127.0.0.1 for tests. */
  readonly host?: 'localhost' | '127.0.0.1';
  readonly signingAlg?: 'PS256' | 'RS256' | 'RS384';
  readonly authMethod?: LocalClient['authMethod'];
  /** A second KMS key for private_key_jwt client assertions (CLIENT_ASSERTION_KMS_KEY_ID). */
  readonly separateAssertionKey?: boolean;
  /** Register the client with the proxy's JWKS URL instead of its keys inline. */
  readonly clientJwksUri?: boolean;
  /** RFC 9396 types the authorization server and the proxy accept. */
  readonly authorizationDetailsTypes?: readonly string[];
  /** RFC 7009 revocation at the authorization server (off by default). */
  readonly revocation?: boolean;
  /** DPoP-bound tokens with server nonces required at the authorization server (RFC 9449; off by default, on with `profile`). */
  readonly dpop?: boolean;
  /** Behind an edge: every function requires the origin secret's header (ORIGIN_SECRET_ID; off by default). */
  readonly originSecret?: boolean;
  /**
   * `fapi2`: the authorization server runs the FAPI 2.0 profile (local/fapi2.ts), the client is
   * registered for private_key_jwt and PS256, and the proxy runs with SECURITY_PROFILE=fapi2,
   * which implies DPOP: so does the stack (`dpop: false` beside it is refused).
   */
  readonly profile?: LocalProfile;
  /** The client's registered post_logout_redirect_uris (RP-Initiated Logout 1.0). */
  readonly postLogoutRedirectUris?: readonly string[];
  /**
   * bff: SESSION_STORE. `dynamodb` starts dynalite (local/session-table.ts) with the table, and has the
   * authorization server call the proxy's back-channel logout. Default cookie.
   */
  readonly sessionStore?: 'cookie' | 'dynamodb';
  /** dynalite's port (0: any free one). */
  readonly dynamoDbPort?: number;
  /** A new refresh token with every refresh, the old one then spent (oidc-provider's rotateRefreshToken). */
  readonly rotateRefreshTokens?: boolean;
  /** Ports of the local KMS and Secrets Manager (0: any free one). */
  readonly kmsPort?: number;
  readonly secretsManagerPort?: number;
  /** Extra environment for the proxy's functions. */
  readonly env?: Readonly<Record<string, string>>;
  /** Where the functions' JSON log lines go: stdout, as in Lambda, unless given (npm start: local/request-log.ts). */
  readonly requestLog?: LogSink;
  /** Further pages and files on the proxy's origin, by exact path, beside (or instead of) the demo's. */
  readonly assets?: Readonly<Record<string, { readonly fetch: () => Response }>>;
}

export interface LocalStack {
  readonly proxyUrl: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** With `originSecret`: the value a request must carry as x-origin-verify, until it is rotated. */
  readonly originSecret?: string;
  readonly redirectUri: string;
  readonly env: Readonly<Record<string, string>>;
  readonly kms: FakeKms;
  readonly secretsManager: FakeSecretsManager;
  /** SESSION_STORE=dynamodb: dynalite with the session table. */
  readonly sessionTable?: LocalSessionTable;
  readonly authorizationServer: LocalAuthorizationServer;
  /** The API the bff's /api/demo/ forwards to: it checks the access token at the userinfo endpoint. */
  readonly resourceServer: LocalResourceServer;
  readonly mode: Mode;
  /** New containers for every function, with these variables changed: what a deploy does. */
  redeploy(overrides: Readonly<Record<string, string>>): void;
  close(): Promise<void>;
}

export const LOCAL_CLIENT_ID = 'par-proxy-local';
export const LOCAL_KEY_ALIAS = 'alias/par-proxy-local';
export const LOCAL_ASSERTION_KEY_ALIAS = 'alias/par-proxy-local-assertions';
export const LOCAL_SECRET_NAME = 'par-proxy/client-secret';
export const LOCAL_SESSION_KEYS_NAME = 'par-proxy/session-keys';
export const LOCAL_ORIGIN_SECRET_NAME = 'par-proxy/origin-secret';

/** Points the AWS SDK at the local endpoints through its own variables; no variables of ours. */
export function useLocalAws(kms: FakeKms, secretsManager: FakeSecretsManager): void {
  Object.assign(process.env, {
    AWS_REGION: FAKE_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_KMS: kms.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

/** A public key as the proxy publishes it: RSA, with its RFC 7638 thumbprint as kid. */
export async function publicJwk(key: KeyObject, alg: string) {
  const { n, e } = key.export({ format: 'jwk' });
  return { kty: 'RSA', n, e, kid: await calculateJwkThumbprint({ kty: 'RSA', n: n!, e: e! }), alg, use: 'sig' };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const fapi2 = options.profile === 'fapi2';
  // The proxy turns DPoP on with the profile (functions/settings/profile.ts): the server must issue DPoP tokens.
  if (fapi2 && options.dpop === false) throw new Error('the fapi2 profile implies DPoP (SECURITY_PROFILE=fapi2 refuses DPOP=false): leave dpop unset');
  const dpop = fapi2 || options.dpop === true;
  const alg = options.signingAlg ?? 'PS256';
  const authMethod = options.authMethod ?? (fapi2 ? 'private_key_jwt' : 'client_secret_post');
  const mode = options.mode ?? 'relay';
  const bff = mode === 'bff';
  const basePath = bff ? (options.basePath ?? '') : '';

  const proxyServer = http.createServer();
  await new Promise<void>((resolve) => proxyServer.listen(options.port ?? 0, '127.0.0.1', resolve));
  const proxyUrl = `http://${host}:${(proxyServer.address() as AddressInfo).port}`;
  // bff: the proxy's own callback; relay: the SPA's page that hands the code to /token.
  const redirectUri = `${proxyUrl}${basePath}/callback`;
  const appUrl = `${proxyUrl}/`;

  const kms = await startFakeKms(options.kmsPort ?? 0);
  const secretsManager = await startFakeSecretsManager(options.secretsManagerPort ?? 0);
  useLocalAws(kms, secretsManager);
  const keys = [kms.createKey({ alias: LOCAL_KEY_ALIAS })];
  if (options.separateAssertionKey === true) keys.push(kms.createKey({ alias: LOCAL_ASSERTION_KEY_ALIAS }));
  const publicJwks = await Promise.all(keys.map((key) => publicJwk(key.publicKey, alg)));
  const clientSecret = randomBytes(32).toString('base64url');
  const secret = secretsManager.createSecret(LOCAL_SECRET_NAME, JSON.stringify({ client_secret: clientSecret }));
  const sessionKeys = secretsManager.createSecret(LOCAL_SESSION_KEYS_NAME, randomBytes(32).toString('base64url'));
  const originSecret = options.originSecret === true ? randomBytes(48).toString('base64url') : undefined;
  const originSecretArn = originSecret === undefined ? undefined : secretsManager.createSecret(LOCAL_ORIGIN_SECRET_NAME, originSecret).arn;
  const stored = bff && options.sessionStore === 'dynamodb';
  const sessionTable = stored ? await startLocalSessionTable(options.dynamoDbPort ?? 0) : undefined;
  // The SDK's own variable, like KMS's and Secrets Manager's (useLocalAws).
  if (sessionTable !== undefined) process.env.AWS_ENDPOINT_URL_DYNAMODB = sessionTable.url;

  const authorizationServer = await startLocalAuthorizationServer({
    port: options.authorizationServerPort ?? 0,
    host,
    authorizationDetailsTypes: options.authorizationDetailsTypes ?? [],
    // The bff revokes at logout and refreshes inline: a confidential client's refresh tokens.
    ...(options.revocation === undefined && !bff ? {} : { revocation: options.revocation ?? true }),
    ...(bff || options.refreshTokens === true ? { alwaysIssueRefreshTokens: true } : {}),
    ...(options.accessTokenTtl === undefined ? {} : { accessTokenTtl: options.accessTokenTtl }),
    ...(dpop ? { dpop: true } : {}),
    ...(fapi2 ? { profile: 'fapi2' as const } : {}),
    ...(options.rotateRefreshTokens === true ? { rotateRefreshTokens: true } : {}),
    clients: [
      {
        clientId: LOCAL_CLIENT_ID,
        ...(authMethod === 'private_key_jwt' ? {} : { clientSecret }),
        authMethod,
        redirectUris: [redirectUri],
        ...(options.clientJwksUri === true
          ? { jwksUri: `${proxyUrl}/.well-known/jwks.json` }
          : { jwks: { keys: publicJwks } }),
        requestObjectAlg: alg,
        // Both demos log out at the end-session endpoint and come back to the app (RP-Initiated Logout 1.0).
        postLogoutRedirectUris: options.postLogoutRedirectUris ?? [appUrl],
        ...(stored ? { backchannelLogoutUri: `${proxyUrl}${basePath}/backchannel-logout` } : {}),
      },
    ],
  });

  const { introspectionClient } = authorizationServer;
  const resourceServer = await startLocalResourceServer({ issuer: authorizationServer.issuer, ...(introspectionClient === undefined ? {} : { dpop: introspectionClient }) });
  const env = {
    ISSUER: authorizationServer.issuer,
    CLIENT_ID: LOCAL_CLIENT_ID,
    // FAPI 2.0 allows no client secret: the proxy refuses to start with one named.
    ...(fapi2 ? {} : { CLIENT_SECRET_ID: secret.arn }),
    CLIENT_AUTH_METHOD: authMethod,
    KMS_KEY_ID: LOCAL_KEY_ALIAS,
    SIGNING_ALG: alg,
    ALLOWED_ORIGINS: proxyUrl,
    ...(bff
      ? {
          PROXY_MODE: 'bff',
          REDIRECT_URI: redirectUri,
          SESSION_KEYS_SECRET_ID: sessionKeys.arn,
          APP_URL: appUrl,
          POST_LOGOUT_REDIRECT_URI: appUrl,
          API_UPSTREAMS: JSON.stringify({ demo: resourceServer.apiUrl }),
          ...(basePath === '' ? {} : { BASE_PATH: basePath }),
          ...(dpop ? { DPOP: 'true' } : {}),
          ...(sessionTable === undefined ? {} : { SESSION_STORE: 'dynamodb', SESSION_TABLE_NAME: sessionTable.tableName }),
        }
      : {
          ALLOWED_REDIRECT_URIS: redirectUri,
          // Relay DPoP: /token seals the refresh tokens it hands the SPA with the session keys.
          ...(dpop ? { DPOP: 'true', SESSION_KEYS_SECRET_ID: sessionKeys.arn } : {}),
        }),
    ...(originSecretArn === undefined ? {} : { ORIGIN_SECRET_ID: originSecretArn }),
    ...(fapi2 ? { SECURITY_PROFILE: 'fapi2' } : {}),
    ...(options.separateAssertionKey === true ? { CLIENT_ASSERTION_KMS_KEY_ID: LOCAL_ASSERTION_KEY_ALIAS } : {}),
    ...(options.authorizationDetailsTypes === undefined
      ? {}
      : { ALLOWED_AUTHORIZATION_DETAILS_TYPES: options.authorizationDetailsTypes.join(',') }),
    ...options.env,
  };
  // One app per function, routed by path as API Gateway routes to one Lambda per route.
  const { inspection } = authorizationServer;
  const assets = {
    ...(bff ? await bffDemoAssets({ basePath, inspection }) : await demoAssets({ dpop, inspection, issuer: authorizationServer.issuer })),
    ...options.assets,
  };
  const functions = await Promise.all(
    functionsFor(mode).map(async (fn) => ({ fn, ...((await import(new URL(`../${fn.wiring}`, import.meta.url).href)) as { fromEnv: FromEnv }) })),
  );
  const deploy = (functionEnv: Readonly<Record<string, string>>): Route[] => [
    ...functions.flatMap(({ fn, fromEnv }) => {
      const { app } = fromEnv(functionEnv, Date.now, options.requestLog);
      return fn.routes.map((route) => ({ matches: routeMatcher(fn, route.path, basePath), app }));
    }),
    ...Object.entries(assets).map(([path, app]) => ({ matches: (pathname: string) => pathname === path, app })),
  ];
  let routes = deploy(env);
  let allowedOrigins = env.ALLOWED_ORIGINS.split(',');
  proxyServer.on(
    'request',
    getRequestListener((request, nodeEnv) => {
      // The request target as sent: URL parsing would already have resolved `..` (the bff refuses it).
      const pathname = (nodeEnv.incoming.url ?? '/').split('?')[0]!;
      const route = routes.find((candidate) => candidate.matches(pathname));
      if (route === undefined) return new Response('not found', { status: 404 });
      // A refused Origin's answer names the allowed one here, never in Lambda (local/origin-hint.ts).
      return Promise.resolve(route.app.fetch(request, nodeEnv)).then((answer) => withAllowedOrigin(answer, allowedOrigins));
    }),
  );

  return {
    proxyUrl,
    issuer: authorizationServer.issuer,
    clientId: LOCAL_CLIENT_ID,
    clientSecret,
    ...(originSecret === undefined ? {} : { originSecret }),
    redirectUri,
    env,
    kms,
    secretsManager,
    ...(sessionTable === undefined ? {} : { sessionTable }),
    authorizationServer,
    resourceServer,
    mode,
    redeploy: (overrides) => {
      routes = deploy({ ...env, ...overrides });
      allowedOrigins = (overrides.ALLOWED_ORIGINS ?? env.ALLOWED_ORIGINS).split(',');
    },
    close: async () => {
      proxyServer.closeAllConnections();
      await new Promise<void>((resolve) => proxyServer.close(() => resolve()));
      await Promise.all([authorizationServer.close(), resourceServer.close(), kms.close(), secretsManager.close(), sessionTable?.close()]);
    },
  };
}

interface Route {
  readonly matches: (pathname: string) => boolean;
  // The node server's bindings (its `incoming` request) are what the apps read the raw target from.
  readonly app: { fetch: (request: Request, env?: any) => Response | Promise<Response> };
}

/** API Gateway's route matching: exact, `{name}` one segment, a last `{proxy+}` the rest. */
function routeMatcher(fn: FunctionSpec, path: string, basePath: string): (pathname: string) => boolean {
  const pattern = routePath(fn, path, basePath)
    .split('/')
    .map((segment) => (segment === '{proxy+}' ? '.+' : /^\{\w+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  const regex = new RegExp(`^${pattern}$`);
  return (pathname) => regex.test(pathname);
}
