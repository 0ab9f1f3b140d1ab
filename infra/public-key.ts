import { createPublicKey } from 'node:crypto';
import { parseArgs } from 'node:util';
import { kmsClient } from '../functions/adapters/aws-clients.ts';
import { KmsSigner, type PublicJwk } from '../functions/adapters/kms-signer.ts';
import { isSigningAlg } from '../functions/core/jws.ts';
import { CliError, printable } from './cli-failure.ts';

/**
 * `npm run public-key -- [KEY_ID ...] [--alg PS256] [--jwks-url URL]`: prints each signing key's
 * public key as PEM (what Auth0's dashboard asks for) and as a JWK with the kid the proxy puts in
 * its JWS headers. Reads KMS with the caller's AWS credentials (or the local stack's KMS through
 * AWS_ENDPOINT_URL_KMS), or, with --jwks-url, the deployed JWKS endpoint, which needs no KMS
 * permission at all.
 *
 * The PEM printed is what an operator registers at Auth0, so a JWKS is read over https only (http
 * only from this machine) and no redirect is followed; what the JWKS says is printed with control
 * characters stripped, so a kid cannot drive the terminal (an OSC 52 escape writes the clipboard).
 */
const USAGE = `usage: npm run public-key -- KEY_ID [KEY_ID ...] [--alg PS256|RS256|RS384]
       npm run public-key -- --jwks-url https://<api>/.well-known/jwks.json
KEY_ID is a KMS key id, ARN or alias (default: $KMS_KEY_ID and $CLIENT_ASSERTION_KMS_KEY_ID).
With the local stack (npm start):
  AWS_ENDPOINT_URL_KMS=http://127.0.0.1:3002 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\
    npm run public-key -- alias/par-proxy-local`;

const HELP_HINT = 'see npm run public-key -- --help';
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A JWKS may omit a member, or hold a non-string: shown only when it is a string. */
const member = (value: unknown): string | undefined => (typeof value === 'string' ? printable(value) : undefined);

function print(label: string, jwk: PublicJwk): void {
  const pem = createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const shown = { kty: jwk.kty, n: jwk.n, e: jwk.e, kid: member(jwk.kid), alg: member(jwk.alg), use: member(jwk.use) };
  console.log(`# ${printable(label)} (${shown.alg}), kid ${shown.kid}\n${String(pem).trim()}\n${JSON.stringify(shown, null, 2)}\n`);
}

/** https, or http to this machine: the PEM must come from the endpoint named, not from the network in between. */
function jwksEndpoint(value: string): URL {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol === 'https:' || (url?.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname))) return url;
  throw new CliError('--jwks-url must be an https URL (http only for localhost)');
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

async function fromJwksUrl(value: string): Promise<void> {
  const url = jwksEndpoint(value);
  const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  if (response.status >= 300 && response.status < 400) {
    throw new CliError(`${url.href} answered a redirect (${response.status}), which is not followed: pass the JWKS URL itself`);
  }
  if (!response.ok) throw new CliError(`${url.href} answered ${response.status}: check the URL, the proxy serves its JWKS at https://<api>/.well-known/jwks.json`);
  const { keys } = (await response.json().catch(() => ({}))) as { keys?: unknown };
  if (!Array.isArray(keys) || keys.length === 0) throw new CliError(`${url.href} holds no keys: is it the proxy's /.well-known/jwks.json?`);
  for (const [index, key] of keys.entries()) {
    const jwk = (key ?? {}) as Record<string, unknown>;
    if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || !BASE64URL.test(jwk.n) || typeof jwk.e !== 'string' || !BASE64URL.test(jwk.e)) {
      throw new CliError(`${url.href}: key ${index + 1} is not an RSA public key`);
    }
    print(url.href, jwk as unknown as PublicJwk);
  }
}

async function fromKms(keyIds: readonly string[], alg: string): Promise<void> {
  if (!isSigningAlg(alg)) throw new CliError(`--alg must be PS256, RS256 or RS384, got ${alg}`);
  const kms = kmsClient({ timeoutMs: 5000 });
  // The SDK's own resolution (environment, then the profile's config): it fails on the first call otherwise.
  await kms.config.region().catch(() => {
    throw new CliError('no AWS region for KMS: set AWS_REGION, or read the deployed JWKS with --jwks-url https://<api>/.well-known/jwks.json');
  });
  for (const keyId of keyIds) {
    try {
      print(keyId, await new KmsSigner(kms, { keyId, alg }).publicJwk(() => AbortSignal.timeout(10_000)));
    } catch (error) {
      console.error(printable(`${keyId}: ${error instanceof Error ? error.message : String(error)} (check the key id, the region and that your credentials may call kms:GetPublicKey on it)`));
      process.exitCode = 1;
    }
  }
}

/** parseArgs's errors, one sentence: "Unknown option '--x'". */
function parseCommandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { alg: { type: 'string' }, 'jwks-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('. ')[0] ?? error.message) : String(error);
    throw new CliError(`${reason} (${HELP_HINT})`, 2);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseCommandLine();
  const keyIds =
    positionals.length > 0
      ? positionals
      : [process.env.KMS_KEY_ID, process.env.CLIENT_ASSERTION_KMS_KEY_ID].filter((id): id is string => Boolean(id));
  const jwksUrl = values['jwks-url'];
  if (values.help === true || (keyIds.length === 0 && jwksUrl === undefined)) {
    console.error(USAGE);
    process.exitCode = values.help === true ? 0 : 2;
    return;
  }
  if (jwksUrl !== undefined) await fromJwksUrl(jwksUrl);
  else await fromKms(keyIds, values.alg ?? process.env.SIGNING_ALG ?? 'PS256');
}

try {
  await main();
} catch (error) {
  // One line, never a stack trace: an unexpected error (a network failure) by its message only.
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  console.error(printable(error instanceof Error ? `${error.message}${cause}` : String(error)));
  process.exitCode = error instanceof CliError ? error.exitCode : 1;
}
