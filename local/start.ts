import { requestLogMode, requestLogSink, type RequestLogMode } from './request-log.ts';
import { startLocalStack } from './stack.ts';

/** `npm start`: the proxy, its demo SPA and the local stack, on embedded defaults. */
const port = Number(process.env.PORT ?? 3000);
let logMode: RequestLogMode;
try {
  logMode = requestLogMode(process.argv.slice(2), process.env);
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
  requestLog: requestLogSink(logMode),
});

console.log(`
PAR proxy running locally
  demo SPA              ${stack.proxyUrl}/   (click "Sign in"; any user name logs in)
  proxy                 ${stack.proxyUrl}   POST /par, POST /token, GET /.well-known/jwks.json
  authorization server  ${stack.issuer}   oidc-provider: PAR, signed request objects and PKCE required
  KMS (local)           ${stack.kms.url}   key ${stack.env.KMS_KEY_ID}, ${stack.env.SIGNING_ALG}
  Secrets Manager       ${stack.secretsManager.url}   secret ${stack.env.CLIENT_SECRET_ID}

Try it:
  curl -s ${stack.proxyUrl}/par -H 'content-type: application/json' -d '{"redirect_uri":"${stack.redirectUri}","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","code_challenge_method":"S256","state":"xyz","scope":"openid profile","nonce":"n-0S6_WzA2Mj"}'
  then open the authorization_url it prints: it leads to the local login page.

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
