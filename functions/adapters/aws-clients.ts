import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * AWS SDK clients, built once per container. Region, credentials and endpoints come from the SDK's
 * own variables (AWS_REGION, AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_SECRETS_MANAGER, ...).
 * `requestTimeout` alone only logs in @smithy/node-http-handler >= 4.4, hence throwOnRequestTimeout;
 * callers also pass an abort signal bounded by the request's deadline.
 */
export interface AwsClientOptions {
  readonly timeoutMs: number;
  /** Attempts per call, first included: standard retry mode backs off on throttling and 5xx. */
  readonly maxAttempts?: number;
}

function requestHandler(timeoutMs: number): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    throwOnRequestTimeout: true,
  });
}

export function kmsClient(options: AwsClientOptions): KMSClient {
  return new KMSClient({
    maxAttempts: options.maxAttempts ?? 3,
    retryMode: 'standard',
    requestHandler: requestHandler(options.timeoutMs),
  });
}

export function secretsManagerClient(options: AwsClientOptions): SecretsManagerClient {
  return new SecretsManagerClient({
    maxAttempts: options.maxAttempts ?? 3,
    retryMode: 'standard',
    requestHandler: requestHandler(options.timeoutMs),
  });
}
