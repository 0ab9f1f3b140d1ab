import { secretsManagerClient } from '../adapters/aws-clients.ts';
import {
  clientSecretAuthentication,
  privateKeyJwtAuthentication,
  type ClientAuthentication,
} from '../adapters/client-authentication.ts';
import { ClientSecretSource } from '../adapters/client-secret.ts';
import { KmsSigner } from '../adapters/kms-signer.ts';
import type { ClientConfig } from '../core/config.ts';
import type { KMSClient } from '@aws-sdk/client-kms';

/** Builds the client authentication a configuration asks for, with the real AWS adapters. */
export function clientAuthenticationFor(
  config: ClientConfig,
  kms: () => KMSClient,
  clock: () => number,
): ClientAuthentication {
  if (config.authMethod === 'private_key_jwt') {
    const key = config.assertionKey;
    if (key === undefined) throw new Error('private_key_jwt needs an assertion key');
    return privateKeyJwtAuthentication(config.clientId, config.issuer, new KmsSigner(kms(), key), clock);
  }
  const secretId = config.clientSecretId;
  if (secretId === undefined) throw new Error(`${config.authMethod} needs CLIENT_SECRET_ID`);
  const secrets = new ClientSecretSource(secretsManagerClient({ timeoutMs: config.upstreamTimeoutMs }), secretId, clock);
  return clientSecretAuthentication(config.authMethod, config.clientId, secrets);
}
