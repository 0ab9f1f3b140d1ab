import { CliError, failInOneLine } from '../infra/cli-failure.ts';
import { requestLogMode, requestLogSink, type RequestLogMode } from './request-log.ts';
import type { Mode } from '../functions/manifest.ts';
import { startLocalStack } from './stack.ts';
import { tryIt } from './try-it.ts';
import { SESSION_STORES } from '../functions/settings/table.ts';

/** One of `values`, the first when unset (npm start's switches), or one line naming the variable. */
function choice<T extends string>(name: string, raw: string | undefined, values: readonly [T, ...T[]]): T {
  const value = raw?.trim() || values[0];
  if (!(values as readonly string[]).includes(value)) throw new CliError(`${name} must be ${values.join(' or ')}, got ${value}: unset it for ${values[0]}`);
  return value as T;
}

/** DPOP for npm start: the profile implies it, as it does for the proxy (functions/settings/profile.ts). */
function dpopSwitch(raw: string | undefined, profile: 'fapi2' | undefined): boolean {
  const value = raw?.trim() || undefined;
  if (value !== undefined && value !== 'true' && value !== 'false') throw new CliError(`DPOP must be true or false, got ${value}: e.g. DPOP=true npm start`);
  if (profile !== undefined && value === 'false') throw new CliError('DPOP=false contradicts SECURITY_PROFILE=fapi2, which implies DPoP (FAPI 2.0): unset DPOP');
  return profile !== undefined || value === 'true';
}

/** The stack's ports, from PORT on (the last only with SESSION_STORE=dynamodb); what a port in use belongs to. */
const PORT_ROLES = ['the proxy', 'the local authorization server', 'the local KMS', 'the local Secrets Manager', 'the local DynamoDB'] as const;
const LAST_FIRST_PORT = 65535 - (PORT_ROLES.length - 1);

/** PORT for npm start: 3000 unless set; it and the ports after it must be ports. */
function firstPort(raw: string | undefined): number {
  const value = raw?.trim() || '3000';
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 1 && port <= LAST_FIRST_PORT)) throw new CliError(`PORT must be a port number from 1 to ${LAST_FIRST_PORT}, got ${value}: e.g. PORT=4000 npm start`);
  return port;
}

/** A port another process holds, named by its variable and its role, with two ways out. */
function portInUse(error: unknown, port: number): CliError | undefined {
  const { code, port: taken } = (error ?? {}) as { code?: unknown; port?: unknown };
  if (code !== 'EADDRINUSE' || typeof taken !== 'number') return undefined;
  const role = PORT_ROLES[taken - port] ?? 'the local stack';
  const from = taken === port ? 'PORT' : `PORT+${taken - port}`;
  const next = port + 1000 <= LAST_FIRST_PORT ? port + 1000 : 4000;
  return new CliError(
    `port ${taken} (${from}, ${role}) is in use: stop what listens there (lsof -i :${taken}), or start on other ports: PORT=${next} npm start (it takes ${next} to ${next + PORT_ROLES.length - 1})`,
  );
}

/** `npm start`: the proxy, its demo SPA and the local stack, on embedded defaults; bff mode unless PROXY_MODE=relay. */
let port = 3000;
failInOneLine('npm start', 'run npm ci, then npm start again; if it persists, report this line', (error) => portInUse(error, port));
let logMode: RequestLogMode;
let mode: Mode;
let profile: 'fapi2' | undefined;
let store: 'cookie' | 'dynamodb';
let dpop: boolean;
try {
  port = firstPort(process.env.PORT);
  logMode = requestLogMode(process.argv.slice(2), process.env);
  // bff unless told relay.
  mode = choice('PROXY_MODE', process.env.PROXY_MODE, ['bff', 'relay']);
  // fapi2: the authorization server and the proxy under FAPI 2.0, DPoP included.
  const chosen = choice('SECURITY_PROFILE', process.env.SECURITY_PROFILE, ['none', 'fapi2']);
  profile = chosen === 'fapi2' ? chosen : undefined;
  // The bff's cookie store unless told dynamodb (dynalite, local/session-table.ts).
  store = choice('SESSION_STORE', process.env.SESSION_STORE, SESSION_STORES);
  dpop = dpopSwitch(process.env.DPOP, profile);
} catch (error) {
  // The user only has to fix one variable: the message names it (LOCAL_LOG's too).
  throw error instanceof CliError ? error : new CliError(`${(error as Error).message}: unset it for readable lines`);
}
const stack = await startLocalStack({
  port,
  authorizationServerPort: port + 1,
  kmsPort: port + 2,
  secretsManagerPort: port + 3,
  dynamoDbPort: port + 4,
  sessionStore: store,
  host: 'localhost',
  mode,
  // The demo shows a refresh: a refresh token in relay mode too, and access tokens that need one within a minute.
  refreshTokens: true,
  accessTokenTtl: 60,
  // FAPI 2.0 asks for sender-constrained tokens: DPoP with server nonces, on with the profile.
  // DPOP=true alone: DPoP-bound tokens, nonces required (relay: the demo's key binds them, README "DPoP in relay mode").
  dpop,
  ...(profile === undefined ? {} : { profile }),
  requestLog: requestLogSink(logMode),
});

// What the proxy runs under: the profile's rules, or DPoP alone.
const profileLine =
  profile === 'fapi2'
    ? `\n  profile               SECURITY_PROFILE=fapi2: PS256, private_key_jwt, iss required, DPoP (${mode === 'bff' ? 'a key per login, sealed in the session' : "the page's WebCrypto key"})${mode === 'bff' ? ', JARM responses' : ''}`
    : dpop
      ? `\n  DPoP                  DPOP=true: ${mode === 'bff' ? 'a key per login, sealed in the session' : "the page's WebCrypto key"} (RFC 9449)`
      : '';
const modeLines =
  mode === 'bff'
    ? `  mode                  bff: the proxy holds the tokens; the page gets a sealed HttpOnly cookie (PROXY_MODE=relay npm start for relay)
  proxy                 ${stack.proxyUrl}   POST /par, GET /callback, GET /session, POST /logout, /api/demo/..., GET /.well-known/jwks.json
  API (local)           ${stack.resourceServer.apiUrl}   GET /me, behind the proxy's /api/demo/me${dpop ? ': DPoP tokens and proofs only (RFC 9449 7)' : ''}`
    : `  mode                  relay: /token hands the tokens to the page's JavaScript (npm start alone runs bff)
  proxy                 ${stack.proxyUrl}   POST /par, POST /token, GET /.well-known/jwks.json`;
console.log(`
PAR proxy running locally
  demo SPA              ${stack.proxyUrl}/   (click "Sign in"; any user name logs in)
${modeLines}${profileLine}
  authorization server  ${stack.issuer}   oidc-provider: ${profile === 'fapi2' ? 'FAPI 2.0 (private_key_jwt, PS256, DPoP with nonces, JARM available)' : 'PAR, signed request objects and PKCE required (SECURITY_PROFILE=fapi2 npm start for FAPI 2.0)'}
  KMS (local)           ${stack.kms.url}   key ${stack.env.KMS_KEY_ID}, ${stack.env.SIGNING_ALG}
  Secrets Manager       ${stack.secretsManager.url}   ${stack.env.CLIENT_SECRET_ID === undefined ? 'no client secret: private_key_jwt' : `secret ${stack.env.CLIENT_SECRET_ID}`}
${stack.sessionTable === undefined ? (mode === 'bff' ? '  sessions              in the sealed cookie (SESSION_STORE=dynamodb npm start keeps them in a local table)\n' : '') : `  DynamoDB (dynalite)   ${stack.sessionTable.url}   table ${stack.sessionTable.tableName}: the sessions (the cookie holds an id)\n`}
Try it:
${tryIt(stack)}

  AWS_ENDPOINT_URL_KMS=${stack.kms.url} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\
    npm run public-key -- ${stack.env.KMS_KEY_ID}   (the local key, as PEM and JWK)

Requests are logged one line each${logMode === 'json' ? ', as the JSON Lambda writes' : '; npm start -- --json (or LOCAL_LOG=json) prints the JSON Lambda writes'}.
Ctrl-C stops everything.`);

const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
