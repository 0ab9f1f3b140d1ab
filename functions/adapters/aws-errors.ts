import {
  OAuthError,
  ServerError,
  TemporarilyUnavailableError,
  UPSTREAM_NAMES,
  UpstreamTimeoutError,
  type Upstream,
} from '../core/errors.ts';

interface SdkError {
  readonly name?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

const THROTTLING = new Set([
  'ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded',
  'LimitExceededException', 'ProvisionedThroughputExceededException',
]);
const UNAVAILABLE = new Set([
  'KMSInternalException', 'DependencyTimeoutException', 'InternalServiceError', 'InternalFailure',
  'ServiceUnavailable', 'ServiceUnavailableException',
]);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Maps an AWS SDK failure (after the SDK's own retries) to the answer the caller gets: throttling
 * and outages are 503 with Retry-After, a call that ran out of time is 504, and anything else
 * (access denied, a missing key or secret) is our own misconfiguration: 500, named in the log.
 */
export function fromAwsError(upstream: Exclude<Upstream, 'authorization_server'>, error: unknown, signal?: AbortSignal): OAuthError {
  if (error instanceof OAuthError) return error;
  const service = UPSTREAM_NAMES[upstream];
  const e = (error ?? {}) as SdkError;
  const name = e.name ?? 'Error';
  if (signal?.aborted === true || name === 'AbortError' || name === 'TimeoutError') {
    return new UpstreamTimeoutError(upstream);
  }
  const status = e.$metadata?.httpStatusCode ?? 0;
  if (THROTTLING.has(name) || e.$retryable?.throttling === true || status === 429) {
    return new TemporarilyUnavailableError(`${service} is throttling requests`, upstream);
  }
  if (UNAVAILABLE.has(name) || status >= 500 || NETWORK.has(e.code ?? '')) {
    return new TemporarilyUnavailableError(`${service} is unavailable`, upstream);
  }
  return new ServerError(`${service} refused the call (${/^\w{1,64}$/.test(name) ? name : 'error'})`, upstream);
}
