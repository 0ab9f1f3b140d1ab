import { createPublicKey, type JsonWebKey as NodeJwk } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { calculateJwkThumbprint } from 'jose';
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

/** RSA signatures are as long as the modulus: 2048, 3072 or 4096 bits. */
const SIGNATURE_LENGTHS = new Set([256, 384, 512]);

/**
 * Signs JWS with an RSA key that never leaves AWS KMS: the signing input is hashed here and KMS
 * signs the digest (MessageType DIGEST), so a request object of any size costs one Sign call.
 */
export class KmsSigner {
  readonly alg: SigningAlg;
  private readonly publicKey: AsyncCache<PublicJwk>;

  constructor(
    private readonly kms: KMSClient,
    private readonly key: SigningKeyConfig,
  ) {
    this.alg = key.alg;
    this.publicKey = new AsyncCache((signal) => this.loadPublicKey(signal));
  }

  /** The kid: configured, or the RFC 7638 thumbprint of the public key (GetPublicKey once per container). */
  async kid(signal: AbortSignal): Promise<string> {
    return this.key.kid ?? (await this.publicKey.get(signal)).kid;
  }

  publicJwk(signal: AbortSignal): Promise<PublicJwk> {
    return this.publicKey.get(signal);
  }

  /** A compact JWS of `payload` with header {alg, typ, kid}. */
  async signJwt(payload: object, typ: string, deadline: Deadline): Promise<string> {
    const input = signingInput({ alg: this.alg, typ, kid: await this.kid(deadline.signal()) }, payload);
    const abortSignal = deadline.signal();
    let signature: Uint8Array | undefined;
    try {
      const result = await this.kms.send(
        new SignCommand({
          KeyId: this.key.keyId,
          Message: signingDigest(this.alg, input),
          MessageType: 'DIGEST',
          SigningAlgorithm: SIGNING_ALGS[this.alg].kms,
        }),
        { abortSignal },
      );
      signature = result.Signature;
    } catch (error) {
      throw fromAwsError('KMS', error, abortSignal);
    }
    if (signature === undefined || !SIGNATURE_LENGTHS.has(signature.byteLength)) {
      throw new UpstreamError('KMS returned a malformed signature');
    }
    return compact(input, signature);
  }

  private async loadPublicKey(signal: AbortSignal): Promise<PublicJwk> {
    let der: Uint8Array | undefined;
    try {
      const result = await this.kms.send(new GetPublicKeyCommand({ KeyId: this.key.keyId }), { abortSignal: signal });
      if (result.KeyUsage !== 'SIGN_VERIFY' || !result.SigningAlgorithms?.includes(SIGNING_ALGS[this.alg].kms)) {
        throw new ServerError(`the KMS key cannot sign ${this.alg}`);
      }
      der = result.PublicKey;
    } catch (error) {
      throw fromAwsError('KMS', error, signal);
    }
    if (der === undefined) throw new UpstreamError('KMS returned no public key');
    const jwk = rsaJwk(der);
    const kid = this.key.kid ?? (await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'sha256'));
    return { kty: 'RSA', n: jwk.n, e: jwk.e, kid, alg: this.alg, use: 'sig' };
  }
}

/** KMS returns DER SubjectPublicKeyInfo. */
function rsaJwk(der: Uint8Array): { n: string; e: string } {
  let jwk: NodeJwk;
  try {
    jwk = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  } catch {
    throw new UpstreamError('KMS returned a malformed public key');
  }
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') {
    throw new ServerError('the KMS key is not an RSA key');
  }
  return { n: jwk.n, e: jwk.e };
}
