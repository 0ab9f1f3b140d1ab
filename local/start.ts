import { requestLogMode, requestLogSink, type RequestLogMode } from './request-log.ts';
import type { Mode } from '../functions/manifest.ts';
import { startLocalStack } from './stack.ts';
import { tryIt } from './try-it.ts';

/** PROXY_MODE for npm start: bff unless told relay. */
function proxyMode(raw: string | undefined): Mode {
  const value = raw?.trim() || 'bff';
  if (value !== 'bff' && value !== 'relay') throw new Error(`PROXY_MODE must be bff or relay, got ${value}`);
  return value;
}

/** SECURITY_PROFILE for npm start: `fapi2` runs the authorization server and the proxy under FAPI 2.0, DPoP included. */
function securityProfile(raw: string | undefined): 'fapi2' | undefined {
  const value = raw?.trim() || 'none';
  if (value !== 'none' && value !== 'fapi2') throw new Error(`SECURITY_PROFILE must be none or fapi2, got ${value}`);
  return value === 'fapi2' ? value : undefined;
}

/** `npm start`: the proxy, its demo SPA and the local stack, on embedded defaults; bff mode unless PROXY_MODE=relay. */
const port = Number(process.env.PORT ?? 3000);
let logMode: RequestLogMode;
let mode: Mode;
let profile: 'fapi2' | undefined;
try {
  logMode = requestLogMode(process.argv.slice(2), process.env);
  mode = proxyMode(process.env.PROXY_MODE);
  profile = securityProfile(process.env.SECURITY_PROFILE);
} catch (error) {
  // A plain message, not a stack trace: the user only has to fix one variable.
  console.error((error as Error).message);
  process.exit(1);
}
const stack = await startLocalStack({
  port,
  authorizationServerPort: port + 1,
  kmsPort: port + 2,
  secretsManagerPort: port + 3,
  host: 'localhost',
  mode,
  // The demo shows a refresh: a refresh token in relay mode too, and access tokens that need one within a minute.
  refreshTokens: true,
  accessTokenTtl: 60,
  // FAPI 2.0 asks for sender-constrained tokens: DPoP with server nonces, on with the profile.
  // DPOP=true alone: DPoP-bound tokens, nonces required (relay: the demo's key binds them, README "DPoP in relay mode").
  dpop: profile !== undefined || process.env.DPOP?.trim() === 'true',
  ...(profile === undefined ? {} : { profile }),
  requestLog: requestLogSink(logMode),
});

const modeLines =
  mode === 'bff'
    ? `  mode                  bff: the proxy holds the tokens; the page gets a sealed HttpOnly cookie (PROXY_MODE=relay npm start for relay)
  proxy                 ${stack.proxyUrl}   POST /par, GET /callback, GET /session, POST /logout, /api/demo/..., GET /.well-known/jwks.json
  API (local)           ${stack.resourceServer.apiUrl}   GET /me, behind the proxy's /api/demo/me`
    : `  mode                  relay: /token hands the tokens to the page's JavaScript (npm start alone runs bff)
  proxy                 ${stack.proxyUrl}   POST /par, POST /token, GET /.well-known/jwks.json`;
console.log(`
PAR proxy running locally
  demo SPA              ${stack.proxyUrl}/   (click "Sign in"; any user name logs in)
${modeLines}
  authorization server  ${stack.issuer}   oidc-provider: ${profile === 'fapi2' ? 'FAPI 2.0 (private_key_jwt, PS256, DPoP with nonces, JARM available)' : 'PAR, signed request objects and PKCE required (SECURITY_PROFILE=fapi2 npm start for FAPI 2.0)'}
  KMS (local)           ${stack.kms.url}   key ${stack.env.KMS_KEY_ID}, ${stack.env.SIGNING_ALG}
  Secrets Manager       ${stack.secretsManager.url}   ${stack.env.CLIENT_SECRET_ID === undefined ? 'no client secret: private_key_jwt' : `secret ${stack.env.CLIENT_SECRET_ID}`}

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
