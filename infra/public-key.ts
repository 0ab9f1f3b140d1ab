import { createPublicKey } from 'node:crypto';
import { parseArgs } from 'node:util';
import { kmsClient } from '../functions/adapters/aws-clients.ts';
import { KmsSigner, type PublicJwk } from '../functions/adapters/kms-signer.ts';
import { isSigningAlg } from '../functions/core/jws.ts';

/**
 * `npm run public-key -- [KEY_ID ...] [--alg PS256] [--jwks-url URL]`: prints each signing key's
 * public key as PEM (what Auth0's dashboard asks for) and as a JWK with the kid the proxy puts in
 * its JWS headers. Reads KMS with the caller's AWS credentials (or the local stack's KMS through
 * AWS_ENDPOINT_URL_KMS), or, with --jwks-url, the deployed JWKS endpoint, which needs no KMS
 * permission at all.
 */
const USAGE = `usage: npm run public-key -- KEY_ID [KEY_ID ...] [--alg PS256|RS256|RS384]
       npm run public-key -- --jwks-url https://<api>/.well-known/jwks.json
KEY_ID is a KMS key id, ARN or alias (default: $KMS_KEY_ID and $CLIENT_ASSERTION_KMS_KEY_ID).
With the local stack (npm start):
  AWS_ENDPOINT_URL_KMS=http://127.0.0.1:3002 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\
    npm run public-key -- alias/par-proxy-local`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { alg: { type: 'string' }, 'jwks-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});

function print(label: string, jwk: PublicJwk): void {
  const pem = createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  console.log(`# ${label} (${jwk.alg}), kid ${jwk.kid}\n${String(pem).trim()}\n${JSON.stringify(jwk, null, 2)}\n`);
}

async function fromJwksUrl(url: string): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const { keys } = (await response.json()) as { keys?: PublicJwk[] };
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${url} holds no keys`);
  for (const jwk of keys) print(url, jwk);
}

async function fromKms(keyIds: readonly string[], alg: string): Promise<void> {
  if (!isSigningAlg(alg)) throw new Error(`--alg must be PS256, RS256 or RS384, got ${alg}`);
  const kms = kmsClient({ timeoutMs: 5000 });
  for (const keyId of keyIds) {
    try {
      print(keyId, await new KmsSigner(kms, { keyId, alg }).publicJwk(() => AbortSignal.timeout(10_000)));
    } catch (error) {
      console.error(`${keyId}: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  }
}

const keyIds =
  positionals.length > 0
    ? positionals
    : [process.env.KMS_KEY_ID, process.env.CLIENT_ASSERTION_KMS_KEY_ID].filter((id): id is string => Boolean(id));
const jwksUrl = values['jwks-url'];

if (values.help === true || (keyIds.length === 0 && jwksUrl === undefined)) {
  console.error(USAGE);
  process.exit(values.help === true ? 0 : 2);
}
try {
  if (jwksUrl !== undefined) await fromJwksUrl(jwksUrl);
  else await fromKms(keyIds, values.alg ?? process.env.SIGNING_ALG ?? 'PS256');
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
