import { secretsManagerClient } from '../adapters/aws-clients.ts';
import {
  clientSecretAuthentication,
  privateKeyJwtAuthentication,
  type ClientAuthentication,
} from '../adapters/client-authentication.ts';
import { ClientSecretSource } from '../adapters/client-secret.ts';
import type { KmsSigner } from '../adapters/kms-signer.ts';
import type { ClientConfig, SigningKeyConfig } from '../core/config.ts';

/**
 * Builds the client authentication a configuration asks for, with the real AWS adapters.
 * `signerFor` is asked only with private_key_jwt, so a function that signs nothing else builds no
 * KMS client, and one that already signs with the same key can hand over its signer (one kid cache).
 */
export function clientAuthenticationFor(
  config: ClientConfig,
  signerFor: (key: SigningKeyConfig) => KmsSigner,
  clock: () => number,
): ClientAuthentication {
  if (config.authMethod === 'private_key_jwt') {
    const key = config.assertionKey;
    if (key === undefined) throw new Error('private_key_jwt needs an assertion key');
    return privateKeyJwtAuthentication(config.clientId, config.issuer, signerFor(key), clock);
  }
  const secretId = config.clientSecretId;
  if (secretId === undefined) throw new Error(`${config.authMethod} needs CLIENT_SECRET_ID`);
  const secrets = new ClientSecretSource(secretsManagerClient({ timeoutMs: config.upstreamTimeoutMs }), secretId, clock);
  return clientSecretAuthentication(config.authMethod, config.clientId, secrets);
}
