import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
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

/** Callers' abort signals carry the real budget; the handler's own timeout is only a backstop. */
const BACKSTOP_MS = 250;

function requestHandler(timeoutMs: number): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs + BACKSTOP_MS,
    throwOnRequestTimeout: true,
  });
}

/**
 * Jittered exponential backoff bounded to fit a call's budget: about 100-200 ms, then 200-400 ms.
 * The SDK's default throttling backoff (500 ms x 2^n) could spend a 3 s budget on waiting alone.
 */
export const retryDelay = (attempt: number): number => 100 * 2 ** (attempt - 2) * (1 + Math.random());

function clientConfig(options: AwsClientOptions) {
  return {
    retryStrategy: new ConfiguredRetryStrategy(options.maxAttempts ?? 3, retryDelay),
    requestHandler: requestHandler(options.timeoutMs),
  };
}

export function kmsClient(options: AwsClientOptions): KMSClient {
  return new KMSClient(clientConfig(options));
}

export function secretsManagerClient(options: AwsClientOptions): SecretsManagerClient {
  return new SecretsManagerClient(clientConfig(options));
}

/**
 * SESSION_STORE=dynamodb: the session table (AWS_ENDPOINT_URL_DYNAMODB points it at dynalite locally).
 * The regional endpoint, not the account-based one: its rules cost CPU on every call (about 0.1 ms
 * of a GetItem's 0.6-0.7 ms here) for a routing benefit a function in the table's region has no use for.
 */
export function dynamoDbClient(options: AwsClientOptions): DynamoDBClient {
  return new DynamoDBClient({ ...clientConfig(options), accountIdEndpointMode: 'disabled' });
}
