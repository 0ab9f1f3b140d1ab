import { createPublicKey } from 'node:crypto';
import { parseArgs } from 'node:util';
import { kmsClient } from '../functions/adapters/aws-clients.ts';
import { KmsSigner } from '../functions/adapters/kms-signer.ts';
import { isSigningAlg } from '../functions/core/jws.ts';

/**
 * `npm run public-key -- [KEY_ID ...] [--alg PS256]`: prints each signing key's public key as PEM
 * (what Auth0's dashboard asks for) and as a JWK with the kid the proxy puts in its JWS headers.
 * Reads KMS with the caller's AWS credentials, or the local stack's KMS through AWS_ENDPOINT_URL_KMS.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { alg: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
const keyIds = positionals.length > 0
  ? positionals
  : [process.env.KMS_KEY_ID, process.env.CLIENT_ASSERTION_KMS_KEY_ID].filter((id): id is string => Boolean(id));
const alg = values.alg ?? process.env.SIGNING_ALG ?? 'PS256';

if (values.help === true || keyIds.length === 0 || !isSigningAlg(alg)) {
  console.error(`usage: npm run public-key -- KEY_ID [KEY_ID ...] [--alg PS256|RS256|RS384]
KEY_ID is a KMS key id, ARN or alias (default: $KMS_KEY_ID and $CLIENT_ASSERTION_KMS_KEY_ID).
After a deploy, the stack output SigningKeyArn is the key; with the local stack (npm start):
  AWS_ENDPOINT_URL_KMS=http://127.0.0.1:3002 AWS_REGION=us-east-1 npm run public-key -- alias/par-proxy-local`);
  process.exit(values.help === true ? 0 : 2);
}

const kms = kmsClient({ timeoutMs: 5000 });
for (const keyId of keyIds) {
  try {
    const jwk = await new KmsSigner(kms, { keyId, alg }).publicJwk(AbortSignal.timeout(10_000));
    const pem = createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    console.log(`# ${keyId} (${alg}), kid ${jwk.kid}\n${String(pem).trim()}\n${JSON.stringify(jwk, null, 2)}\n`);
  } catch (error) {
    console.error(`${keyId}: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
