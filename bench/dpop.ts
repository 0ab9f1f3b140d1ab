import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { dpopJkt, dpopProof, newDpopKey } from '../functions/core/dpop-proof.ts';
import { seal, sealKey } from '../functions/core/sealed-cookie.ts';
import { FAKE_REGION, startFakeKms } from '../local/fake-kms.ts';
import { realisticSession } from '../test/helpers/bff-fixtures.ts';

/**
 * `npx tsx bench/dpop.ts`: where the bff's DPoP key lives (issue 14), in CPU and remote calls.
 *
 * - a key per session (what the bff does): the key made at POST /par, and one ES256 proof per
 *   token request and per API call, measured here, with the bytes the key adds to the cookies;
 * - a KMS ECC_NIST_P256 key (the alternative): one KMS Sign per proof instead. Measured here: the
 *   AWS SDK's CPU per Sign against the wire-level fake on 127.0.0.1 (in a child process, so its CPU
 *   is not counted) and the DER-to-JOSE conversion; the network time and the price are AWS's.
 *
 * The end-to-end figures (the bff's warm API call with DPOP=true beside the same-run floor) are
 * `BENCH_MODE=bff BENCH_ONLY=warm npm run bench`, rows "bff /api dpop" and "bff /api refresh dpop".
 */
const ROUNDS = 9;
const PER_ROUND = 500;

if (process.argv[2] === '--kms-child') {
  const kms = await startFakeKms();
  const key = kms.createKey({ alias: 'alias/dpop-bench' });
  // An ECDSA P-256 DER signature's shape: SEQUENCE { INTEGER r, INTEGER s }, 70-72 bytes.
  const der = Buffer.concat([Buffer.from([0x30, 0x44, 0x02, 0x20]), randomBytes(32), Buffer.from([0x02, 0x20]), randomBytes(32)]);
  der[4]! &= 0x7f;
  der[38]! &= 0x7f;
  kms.setFault((operation) =>
    operation === 'Sign' ? { kind: 'respond', status: 200, body: { KeyId: key.arn, Signature: der.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' } } : undefined,
  );
  process.send!(kms.url);
} else {
  await main();
}

/** Median CPU microseconds per call over ROUNDS rounds of PER_ROUND sequential calls, after a warm-up round. */
async function cpuPerCall(fn: () => unknown): Promise<number> {
  for (let i = 0; i < PER_ROUND; i += 1) await fn();
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const start = process.cpuUsage();
    for (let i = 0; i < PER_ROUND; i += 1) await fn();
    const used = process.cpuUsage(start);
    rounds.push((used.user + used.system) / PER_ROUND);
  }
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

/** RFC 7518 3.4: KMS answers DER; a JWS carries R || S, 32 bytes each. */
function derToJose(der: Uint8Array): Buffer {
  let at = 2 + (der[1]! & 0x80 ? der[1]! & 0x7f : 0);
  const integer = () => {
    const length = der[at + 1]!;
    const value = Buffer.from(der.subarray(at + 2, at + 2 + length));
    at += 2 + length;
    return Buffer.concat([Buffer.alloc(32), value.subarray(value[0] === 0 ? 1 : 0)]).subarray(-32);
  };
  return Buffer.concat([integer(), integer()]);
}

async function main(): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const key = newDpopKey();
  const session = realisticSession('https://tenant.example.com/', 'bench-client', now, 86_400);
  const ring = { current: await sealKey(randomBytes(32)) };
  const plain = await seal(session, 'session', ring);
  const bound = await seal({ ...session, token_type: 'DPoP', dpop_key: key }, 'session', ring);
  const htu = 'https://api.example.com/v1/orders';

  const keygen = await cpuPerCall(() => newDpopKey());
  const thumbprint = await cpuPerCall(() => dpopJkt(key));
  const tokenProof = await cpuPerCall(() => dpopProof(key, { htm: 'POST', htu: 'https://tenant.example.com/oauth/token', iat: now, nonce: 'n'.repeat(43) }));
  const apiProof = await cpuPerCall(() => dpopProof(key, { htm: 'GET', htu, iat: now, nonce: 'n'.repeat(43), accessToken: session.access_token }));
  // A container's first proof for a session imports its key (more than the 64 kept: never cached here).
  const keys = Array.from({ length: PER_ROUND * (ROUNDS + 1) }, () => newDpopKey());
  let next = 0;
  const firstProof = await cpuPerCall(() => dpopProof(keys[next++ % keys.length]!, { htm: 'GET', htu, iat: now, nonce: 'n'.repeat(43), accessToken: session.access_token }));

  const child = fork(fileURLToPath(import.meta.url), ['--kms-child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve) => child.once('message', (message) => resolve(String(message))));
  const kms = new KMSClient({ region: FAKE_REGION, endpoint: url, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const digest = randomBytes(32);
  let wallMs = 0;
  const kmsSign = await cpuPerCall(async () => {
    const started = performance.now();
    const { Signature } = await kms.send(new SignCommand({ KeyId: 'alias/dpop-bench', Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
    wallMs += performance.now() - started;
    return derToJose(Signature!);
  });
  const calls = PER_ROUND * (ROUNDS + 1);
  kms.destroy();
  child.kill();

  const row = (what: string, value: string) => console.log(`${what.padEnd(62)} ${value}`);
  console.log(`DPoP in the bff (issue 14), Node ${process.version}, median CPU of ${ROUNDS} rounds of ${PER_ROUND}\n`);
  console.log('a key per session (DPOP=true):');
  row('  POST /par: a new P-256 key', `${keygen.toFixed(0)} us`);
  row('  POST /par: its RFC 7638 thumbprint (dpop_jkt)', `${thumbprint.toFixed(1)} us`);
  row('  a token request proof (code, refresh)', `${tokenProof.toFixed(0)} us`);
  row('  an API call proof (with ath of a 1.1 KB access token)', `${apiProof.toFixed(0)} us`);
  row('  the same, a container\'s first for the session (imports the key)', `${firstProof.toFixed(0)} us`);
  row('  remote calls per proof', '0');
  row('  session cookie, sealed: without the key / with it', `${plain.length} / ${bound.length} bytes (+${bound.length - plain.length}; one cookie up to 3800)`);
  console.log('\na KMS ECC_NIST_P256 key (estimate):');
  row('  per proof: KMS Sign, SDK CPU + DER to JOSE (fake on loopback)', `${kmsSign.toFixed(0)} us CPU, ${(wallMs / calls).toFixed(2)} ms wall on loopback`);
  row('  remote calls per proof', '1 (KMS Sign: in-Region network time, typically a few to tens of ms)');
  row('  price per proof', '$0.15 per 10,000 (asymmetric, not RSA 2048), 5 x the request object\'s RSA_2048 Sign');
  row('  quota', 'ECC cryptographic operations: 300/s default (shared by every ECC key of the account and Region)');
}
