import { kmsClient, secretsManagerClient } from '../adapters/aws-clients.ts';
import {
  clientSecretAuthentication,
  privateKeyJwtAuthentication,
  type ClientAuthentication,
} from '../adapters/client-authentication.ts';
import { ClientSecretSource } from '../adapters/client-secret.ts';
import { KmsSigner } from '../adapters/kms-signer.ts';
import type { Hono } from 'hono';
import type { ClientAuthConfig, ClientConfig, Env, SigningKeyConfig } from '../core/config.ts';
import type { LogSink } from './observability.ts';
import type { ProxyEnv } from './proxy-app.ts';

/** A function's app with its production adapters, and the loads to make while Lambda initialises it. */
export interface Wired {
  readonly app: Hono<ProxyEnv>;
  readonly prefetch: () => Promise<void>;
}

/**
 * What every function's wiring.ts exports as `fromEnv` (functions/manifest.ts): the configuration is
 * read from `env` once, here, and fails fast naming the variable.
 */
export type FromEnv = (env: Env, clock?: () => number, writeLog?: LogSink) => Wired;

/**
 * Builds the client authentication a configuration asks for, with the real AWS adapters.
 * `signerFor` is asked only with private_key_jwt, so a function that signs nothing else builds no
 * KMS client, and one that already signs with the same key can hand over its signer (one kid cache).
 */
export function clientAuthenticationFor(
  config: ClientAuthConfig & Pick<ClientConfig, 'clientId' | 'issuer' | 'upstreamTimeoutMs'>,
  signerFor: (key: SigningKeyConfig) => KmsSigner,
  clock: () => number,
): ClientAuthentication {
  if (config.authMethod === 'private_key_jwt') {
    return privateKeyJwtAuthentication(config.clientId, config.issuer, signerFor(config.assertionKey), clock);
  }
  const secrets = new ClientSecretSource(secretsManagerClient({ timeoutMs: config.upstreamTimeoutMs }), config.clientSecretId, clock);
  return clientSecretAuthentication(config.authMethod, config.clientId, secrets);
}

/**
 * The request object signer and the client authentication of a function that pushes requests (par,
 * bff). With private_key_jwt on the same key, the authentication signs with that signer: one kid
 * cache, one GetPublicKey per container.
 */
export function requestSigning(
  config: Parameters<typeof clientAuthenticationFor>[0] & { readonly signingKey: SigningKeyConfig },
  clock: () => number,
): { readonly signer: KmsSigner; readonly clientAuthentication: ClientAuthentication } {
  const kms = kmsClient({ timeoutMs: config.upstreamTimeoutMs });
  const signer = new KmsSigner(kms, config.signingKey);
  const sameKey = (key: SigningKeyConfig) => key.keyId === config.signingKey.keyId && key.kid === config.signingKey.kid;
  const clientAuthentication = clientAuthenticationFor(config, (key) => (sameKey(key) ? signer : new KmsSigner(kms, key)), clock);
  return { signer, clientAuthentication };
}
