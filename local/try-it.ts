import { createHash, randomBytes } from 'node:crypto';
import type { LocalStack } from './stack.ts';

/**
 * The startup banner's "Try it": commands that end in a redeemed code, not in an error. Lines
 * indented four spaces are shell commands, run as printed by test/browser/demo-flow.test.ts.
 */
const CODE_PLACEHOLDER = 'CODE';

/** One line of shell, in single quotes for a JSON body (none of ours holds a quote). */
const json = (body: object) => `'${JSON.stringify(body)}'`;

export function tryIt(stack: Pick<LocalStack, 'proxyUrl' | 'redirectUri' | 'mode' | 'env'>, verifier = randomBytes(32).toString('base64url')): string {
  const proxy = stack.proxyUrl;
  if (stack.mode === 'relay' && stack.env.DPOP === 'true') {
    // The client is registered with dpop_bound_access_tokens: every token request needs a proof, which curl cannot sign.
    return `  With DPOP=true every token request needs a DPoP proof (RFC 9449), which curl cannot make: sign in at the demo page.`;
  }
  if (stack.mode === 'relay') {
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const intent = { redirect_uri: stack.redirectUri, code_challenge: challenge, code_challenge_method: 'S256', state: 'xyz', nonce: 'n-0S6_WzA2Mj', scope: 'openid profile offline_access' };
    const redeem = { grant_type: 'authorization_code', code: CODE_PLACEHOLDER, code_verifier: verifier, redirect_uri: stack.redirectUri };
    return `  1. Push a login (the PKCE challenge is of a verifier made for this run):
    curl -s ${proxy}/par -H 'content-type: application/json' -d ${json(intent)}
  2. Open the authorization_url it prints in a browser and sign in (any user name): the page at /callback shows the code.
  3. Redeem the code within a minute, with the verifier:
    curl -s ${proxy}/token -H 'content-type: application/json' -d ${json(redeem).replace(CODE_PLACEHOLDER, `'"$CODE"'`)}
     (CODE=<the code> first)`;
  }
  // bff: the login cookie /par sets binds the code to whoever called /par, so curl signs in too.
  return `  The login cookie /par sets ties the code to the client that asked, so curl does the whole login (any user name):
    jar=$(mktemp)
    url=$(curl -s -c "$jar" ${proxy}/par -H 'x-csrf: 1' -H 'content-type: application/json' -d '{"scope":"openid profile offline_access"}' | grep -o '"authorization_url":"[^"]*"' | cut -d'"' -f4)
    login=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" "$url")
    curl -sL -o /dev/null -c "$jar" -b "$jar" -d prompt=login -d login=alice -d password=any "$login"
    curl -s -b "$jar" ${proxy}/session -H 'x-csrf: 1'; echo
    curl -s -b "$jar" ${proxy}/api/demo/me -H 'x-csrf: 1'; echo
  The last two print the session's claims and the local API's answer, called through the proxy.`;
}
