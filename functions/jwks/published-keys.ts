import type { KmsSigner, PublicJwk } from '../adapters/kms-signer.ts';
import type { KeyFailure } from '../app/observability.ts';
import { asOAuthError } from '../app/proxy-app.ts';

export interface JwksKey {
  /** The public key, from KMS GetPublicKey through the signer's per-container cache. */
  readonly source: Pick<KmsSigner, 'publicJwk'>;
  /** The KMS key id, ARN or alias as configured: what a failure's log line names. */
  readonly keyId: string;
  /** It signs request objects or client assertions. */
  readonly active: boolean;
}

export interface KeyRead {
  /** What to publish, in publication order: each key as read now or, failing that, as last read. */
  readonly keys: readonly PublicJwk[];
  readonly failures: readonly KeyFailure[];
  /** Why the first active key that failed did: the answer. */
  readonly activeFailure?: { readonly error: unknown };
}

/**
 * The JWKS's keys, read together. A published-only key that KMS will not read (disabled after a
 * compromise, pending deletion, gone, throttled) must not take the others down with it: its last
 * good copy in this container is published in its place, or nothing. An active key gets no such
 * copy: a key KMS will not read will not sign either, and that failure is the proxy's own.
 */
export class PublishedKeys {
  private readonly lastGood: (PublicJwk | undefined)[];

  constructor(private readonly keys: readonly JwksKey[]) {
    this.lastGood = keys.map(() => undefined);
  }

  async read(signal: () => AbortSignal): Promise<KeyRead> {
    const results = await Promise.allSettled(this.keys.map((key) => key.source.publicJwk(signal)));
    const keys: PublicJwk[] = [];
    const failures: KeyFailure[] = [];
    let activeFailure: { readonly error: unknown } | undefined;
    results.forEach((result, index) => {
      const { keyId, active } = this.keys[index]!;
      if (result.status === 'fulfilled') {
        this.lastGood[index] = result.value;
        keys.push(result.value);
        return;
      }
      const lastGood = active ? undefined : this.lastGood[index];
      if (lastGood !== undefined) keys.push(lastGood);
      if (active) activeFailure ??= { error: result.reason };
      const { error, description } = asOAuthError(result.reason);
      failures.push({ index, keyId, active, error, description, lastGoodCopy: lastGood !== undefined });
    });
    return { keys, failures, ...(activeFailure === undefined ? {} : { activeFailure }) };
  }
}
