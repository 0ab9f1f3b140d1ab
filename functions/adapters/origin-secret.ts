import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AsyncCache } from '../core/cache.ts';
import { ServerError } from '../core/errors.ts';
import { MIN_ORIGIN_SECRET_LENGTH, originDigest, verifyOrigin, type OriginDigests, type OriginVerdict } from '../core/origin-verify.ts';
import { readCurrentAndPrevious } from './secret-stages.ts';

/** Loaded once per container and kept 5 minutes, as the other secrets: a warm request makes no call for it. */
export const ORIGIN_SECRET_TTL_MS = 5 * 60_000;
/**
 * A value the cached copy does not know may be one put since (a rotation on its way to the edges):
 * the secret is read again, at most once per 30 s, so that a caller sending wrong values cannot make
 * the function call Secrets Manager for each.
 */
export const MISMATCH_RELOAD_MS = 30_000;

/**
 * The origin secret ORIGIN_SECRET_ID from Secrets Manager, kept only as SHA-256 digests of
 * AWSCURRENT and AWSPREVIOUS: both are accepted, so putting a new value refuses no request while
 * CloudFront still sends the old one (docs/deploy.md, "Rotate the origin secret").
 */
export class OriginSecretSource {
  private readonly cache: AsyncCache<OriginDigests>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    clock: () => number = Date.now,
  ) {
    this.cache = new AsyncCache((signal) => this.load(signal), ORIGIN_SECRET_TTL_MS, clock);
  }

  /**
   * Checks the header's value. A missing one is refused without any read; a cache miss loads the
   * secret (`signal` is called only then); a mismatch reads it again at most once per
   * MISMATCH_RELOAD_MS, and stays a mismatch when that read fails.
   */
  async verify(presented: string | undefined, signal: () => AbortSignal): Promise<OriginVerdict> {
    if (presented === undefined || presented === '') return 'missing';
    const verdict = verifyOrigin(presented, await this.cache.get(signal));
    if (verdict !== 'mismatch') return verdict;
    const reloaded = await this.cache.refresh(signal, MISMATCH_RELOAD_MS).catch(() => undefined);
    return reloaded === undefined ? verdict : verifyOrigin(presented, reloaded);
  }

  /** Loads the digests during INIT, so that the first request does not wait for Secrets Manager. */
  async prefetch(signal: () => AbortSignal): Promise<void> {
    await this.cache.get(signal);
  }

  private async load(signal: AbortSignal): Promise<OriginDigests> {
    const { current, previous } = await readCurrentAndPrevious(this.client, this.secretId, signal);
    const digests = [originDigest(parseOriginSecret(current))];
    // A previous value too short to be accepted was never one CloudFront sent: ignored, not fatal.
    if ((previous?.trim().length ?? 0) >= MIN_ORIGIN_SECRET_LENGTH) digests.push(originDigest(previous!.trim()));
    return digests;
  }
}

/** The SecretString is the value itself, trimmed, as CloudFront sends it: at least 32 characters. */
export function parseOriginSecret(secretString: string | undefined): string {
  const value = secretString?.trim() ?? '';
  if (value.length < MIN_ORIGIN_SECRET_LENGTH) throw new ServerError(`the origin secret is shorter than ${MIN_ORIGIN_SECRET_LENGTH} characters`, 'secrets_manager');
  return value;
}
