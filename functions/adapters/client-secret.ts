import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AsyncCache } from '../core/cache.ts';
import { ServerError } from '../core/errors.ts';
import { fromAwsError } from './aws-errors.ts';

/** Minutes, not Powertools' 5 s default: a warm request must not call Secrets Manager. */
export const SECRET_TTL_MS = 5 * 60_000;
/** Auth0 may take up to 30 s to accept a rotated secret; the previous one is preferred that long. */
export const PREVIOUS_SECRET_PIN_MS = 30_000;

/**
 * The client secret from AWS Secrets Manager, cached per container with single-flight loads.
 * Hand-written rather than Powertools Parameters because its cache key ignores VersionStage (an
 * AWSPREVIOUS read would replace the cached current secret), it takes no abort signal, and it does
 * not share one load between concurrent callers.
 */
export class ClientSecretSource {
  private readonly currentSecret: AsyncCache<string>;
  private pinned?: { readonly secret: string; readonly until: number };

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.currentSecret = new AsyncCache((signal) => this.fetch('AWSCURRENT', signal), SECRET_TTL_MS, clock);
  }

  async current(signal: () => AbortSignal): Promise<string> {
    if (this.pinned !== undefined && this.clock() < this.pinned.until) return this.pinned.secret;
    return this.currentSecret.get(signal);
  }

  /**
   * The authorization server refused `refused` with invalid_client: the secret may have been
   * rotated. Returns another secret to try once (the new current one, or AWSPREVIOUS when the
   * current one is the refused value), or undefined when there is none.
   */
  async afterRejection(refused: string, signal: AbortSignal): Promise<string | undefined> {
    this.pinned = undefined;
    const current = await this.fetch('AWSCURRENT', signal);
    this.currentSecret.set(current);
    if (current !== refused) return current;
    const previous = await this.fetch('AWSPREVIOUS', signal).catch((error: unknown) => {
      if (error instanceof ServerError) return undefined; // no previous version
      throw error;
    });
    if (previous === undefined || previous === refused) return undefined;
    this.pinned = { secret: previous, until: this.clock() + PREVIOUS_SECRET_PIN_MS };
    return previous;
  }

  private async fetch(stage: 'AWSCURRENT' | 'AWSPREVIOUS', signal: AbortSignal): Promise<string> {
    let secretString: string | undefined;
    try {
      const result = await this.client.send(
        new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: stage }),
        { abortSignal: signal },
      );
      secretString = result.SecretString;
    } catch (error) {
      throw fromAwsError('secrets_manager', error, signal);
    }
    return parseClientSecret(secretString);
  }
}

/** The SecretString is the secret itself, or JSON with a `client_secret` field. */
export const parseClientSecret = (secretString: string | undefined): string =>
  secretStringField(secretString, 'client_secret', 'client secret');

/**
 * A secret's value: the SecretString itself (trimmed), or its `field` when it is a JSON object.
 * Errors name `what` and never quote the value.
 */
export function secretStringField(secretString: string | undefined, field: string, what: string): string {
  const raw = secretString?.trim() ?? '';
  if (!raw.startsWith('{')) {
    if (raw === '') throw new ServerError(`the ${what} is empty`, 'secrets_manager');
    return raw;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ServerError(`the ${what} is malformed JSON`, 'secrets_manager');
  }
  const secret = (parsed as Record<string, unknown> | null)?.[field];
  if (typeof secret !== 'string' || secret === '') {
    throw new ServerError(`the ${what} JSON has no ${field} string`, 'secrets_manager');
  }
  return secret;
}
