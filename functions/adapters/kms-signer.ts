import { createHash, createPublicKey, type JsonWebKey as NodeJwk } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { AsyncCache } from '../core/cache.ts';
import type { SigningKeyConfig } from '../core/config.ts';
import type { Deadline } from '../core/deadline.ts';
import { ServerError, UpstreamError } from '../core/errors.ts';
import { compact, signingDigest, signingInput, SIGNING_ALGS, type SigningAlg } from '../core/jws.ts';
import { fromAwsError } from './aws-errors.ts';

/** The public half of a signing key, as published in the JWKS (RFC 7517 4). */
export interface PublicJwk {
  readonly kty: 'RSA';
  readonly n: string;
  readonly e: string;
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly use: 'sig';
}

interface PublicKey {
  readonly jwk: PublicJwk;
  /** The key's ARN, as KMS reports it: what an alias pointed at when the key was read. */
  readonly keyArn: string;
}

/** RSA signatures are as long as the modulus: 2048, 3072 or 4096 bits. */
const SIGNATURE_LENGTHS = new Set([256, 384, 512]);

export interface KmsSignerOptions {
  /** How long the public key is kept; an alias may be moved to another key (rotation). */
  readonly publicKeyTtlMs?: number;
  readonly clock?: () => number;
}

/**
 * Signs JWS with an RSA key that never leaves AWS KMS: the signing input is hashed here and KMS
 * signs the digest (MessageType DIGEST), so a JWS of any size costs one Sign call.
 *
 * The kid is the RFC 7638 thumbprint of the public key, read once. When the key is an alias that
 * has been moved to another key (a rotation), Sign reports the new key's ARN: the public key is
 * read again and the JWS signed once more with the right kid, once per container.
 */
export class KmsSigner {
  readonly alg: SigningAlg;
  private readonly publicKey: AsyncCache<PublicKey>;

  constructor(
    private readonly kms: KMSClient,
    private readonly key: SigningKeyConfig,
    options: KmsSignerOptions = {},
  ) {
    this.alg = key.alg;
    this.publicKey = new AsyncCache((signal) => this.loadPublicKey(signal), options.publicKeyTtlMs, options.clock);
  }

  async publicJwk(signal: () => AbortSignal): Promise<PublicJwk> {
    return (await this.publicKey.get(signal)).jwk;
  }

  /** Reads what signing will need (the public key, when the kid is derived from it) ahead of time. */
  async prefetch(signal: () => AbortSignal): Promise<void> {
    if (this.key.kid === undefined) await this.publicKey.get(signal);
  }

  /** A compact JWS of `payload` with header {alg, typ, kid}. */
  async signJwt(payload: object, typ: string, deadline: Deadline): Promise<string> {
    if (this.key.kid !== undefined) return (await this.sign(payload, typ, this.key.kid, deadline)).jws;
    const expected = await deadline.cached('kms', (signal) => this.publicKey.get(signal));
    const signed = await this.sign(payload, typ, expected.jwk.kid, deadline);
    if (signed.keyArn === undefined || signed.keyArn === expected.keyArn) return signed.jws;
    // The alias now points at another key: learn its kid and sign again.
    this.publicKey.invalidate();
    const current = await deadline.cached('kms', (signal) => this.publicKey.get(signal));
    return (await this.sign(payload, typ, current.jwk.kid, deadline)).jws;
  }

  private async sign(payload: object, typ: string, kid: string, deadline: Deadline) {
    const input = signingInput({ alg: this.alg, typ, kid }, payload);
    const abortSignal = deadline.signal();
    let result;
    try {
      const command = new SignCommand({
        KeyId: this.key.keyId,
        Message: signingDigest(this.alg, input),
        MessageType: 'DIGEST',
        SigningAlgorithm: SIGNING_ALGS[this.alg].kms,
      });
      result = await deadline.timed('kms', () => this.kms.send(command, { abortSignal }));
    } catch (error) {
      throw fromAwsError('kms', error, abortSignal);
    }
    const signature = result.Signature;
    if (signature === undefined || !SIGNATURE_LENGTHS.has(signature.byteLength)) {
      throw new UpstreamError('KMS returned a malformed signature', 'kms');
    }
    return { jws: compact(input, signature), keyArn: result.KeyId };
  }

  private async loadPublicKey(signal: AbortSignal): Promise<PublicKey> {
    let result;
    try {
      result = await this.kms.send(new GetPublicKeyCommand({ KeyId: this.key.keyId }), { abortSignal: signal });
    } catch (error) {
      throw fromAwsError('kms', error, signal);
    }
    if (result.KeyUsage !== 'SIGN_VERIFY' || !result.SigningAlgorithms?.includes(SIGNING_ALGS[this.alg].kms)) {
      throw new ServerError(`the KMS key cannot sign ${this.alg}`, 'kms');
    }
    if (result.PublicKey === undefined) throw new UpstreamError('KMS returned no public key', 'kms');
    const { n, e } = rsaJwk(result.PublicKey);
    const kid = this.key.kid ?? rsaThumbprint(n, e);
    return { jwk: { kty: 'RSA', n, e, kid, alg: this.alg, use: 'sig' }, keyArn: result.KeyId ?? this.key.keyId };
  }
}

/** RFC 7638 3: the required members in lexicographic order, no whitespace; SHA-256, base64url. */
export function rsaThumbprint(n: string, e: string): string {
  return createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
}

/** KMS returns DER SubjectPublicKeyInfo. */
function rsaJwk(der: Uint8Array): { n: string; e: string } {
  let jwk: NodeJwk;
  try {
    jwk = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  } catch {
    throw new UpstreamError('KMS returned a malformed public key', 'kms');
  }
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') {
    throw new ServerError('the KMS key is not an RSA key', 'kms');
  }
  return { n: jwk.n, e: jwk.e };
}
