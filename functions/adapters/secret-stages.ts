import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { fromAwsError } from './aws-errors.ts';

/** A rotated secret's two values: AWSPREVIOUS is absent until the first rotation. */
export interface SecretStages {
  readonly current: string;
  readonly previous?: string;
}

/**
 * AWSCURRENT and AWSPREVIOUS of a secret that the functions accept in both versions (the session
 * keys, the origin secret), read in parallel. Both settle before a failure is thrown: no call is
 * left running into the next load.
 */
export async function readCurrentAndPrevious(client: SecretsManagerClient, secretId: string, signal: AbortSignal): Promise<SecretStages> {
  const [current, previous] = await Promise.allSettled([
    readStage(client, secretId, 'AWSCURRENT', signal),
    readStage(client, secretId, 'AWSPREVIOUS', signal),
  ]);
  if (current.status === 'rejected') throw current.reason;
  if (previous.status === 'rejected') throw previous.reason;
  return { current: current.value ?? '', ...(previous.value === undefined ? {} : { previous: previous.value }) };
}

/** A stage's SecretString; undefined for AWSPREVIOUS when there is none (never rotated). */
async function readStage(client: SecretsManagerClient, secretId: string, stage: 'AWSCURRENT' | 'AWSPREVIOUS', signal: AbortSignal): Promise<string | undefined> {
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }), { abortSignal: signal });
    return result.SecretString ?? '';
  } catch (error) {
    if (stage === 'AWSPREVIOUS' && (error as { name?: unknown } | undefined)?.name === 'ResourceNotFoundException') return undefined;
    throw fromAwsError('secrets_manager', error, signal);
  }
}
