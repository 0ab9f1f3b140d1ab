/** The services the proxy calls: a failure names the one it came from, and so does its metric. */
export type Upstream = 'kms' | 'secrets_manager' | 'authorization_server' | 'api' | 'dynamodb';

/** How descriptions name each upstream. */
export const UPSTREAM_NAMES: Readonly<Record<Upstream, string>> = {
  kms: 'KMS',
  secrets_manager: 'Secrets Manager',
  authorization_server: 'the authorization server',
  api: 'the API',
  dynamodb: 'the session table',
};

/**
 * Every failure the proxy answers with is an OAuthError: an HTTP status, an OAuth `error` code
 * (RFC 6749 5.2, RFC 9126 2.3) and a description that is safe to show to anyone. Descriptions never
 * carry secrets, request objects, tokens or codes, and never a stack trace.
 */
export class OAuthError extends Error {
  override readonly name: string = 'OAuthError';
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    /** Seconds, for 503 answers: sent as Retry-After. */
    readonly retryAfter?: number,
    /** The upstream whose answer (or silence) this is; none for the caller's mistakes and the proxy's own. */
    readonly upstream?: Upstream,
  ) {
    super(`${error}: ${description}`);
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/** 400: the caller sent something we refuse (RFC 6749 5.2 `invalid_request`). */
export class InvalidRequestError extends OAuthError {
  override readonly name = 'InvalidRequestError';
  constructor(description: string) {
    super(400, 'invalid_request', description);
  }
}

/** 403: the Origin is not on the allow-list. */
export class AccessDeniedError extends OAuthError {
  override readonly name = 'AccessDeniedError';
  constructor(description: string) {
    super(403, 'access_denied', description);
  }
}

export class PayloadTooLargeError extends OAuthError {
  override readonly name = 'PayloadTooLargeError';
  constructor(limit: number) {
    super(413, 'invalid_request', `the request body is larger than ${limit} bytes`);
  }
}

export class UnsupportedMediaTypeError extends OAuthError {
  override readonly name = 'UnsupportedMediaTypeError';
  constructor() {
    super(415, 'invalid_request', 'the request body must be application/json');
  }
}

export class NotFoundError extends OAuthError {
  override readonly name = 'NotFoundError';
  constructor() {
    super(404, 'invalid_request', 'no such route');
  }
}

/**
 * The authorization server refused what we sent, with an OAuth error of its own. `status` is ours:
 * 400 when the caller caused it, 502 when the proxy is misconfigured (adapters/authorization-server.ts `failureOf`).
 */
export class UpstreamRefusedError extends OAuthError {
  override readonly name = 'UpstreamRefusedError';
  constructor(status: number, error: string, description: string) {
    super(status, error, description, undefined, 'authorization_server');
  }
}

/** 502: an upstream answered, but not with anything we can use (5xx, garbage, a reset). */
export class UpstreamError extends OAuthError {
  override readonly name = 'UpstreamError';
  constructor(description: string, upstream: Upstream) {
    super(502, 'server_error', description, undefined, upstream);
  }
}

/** 503: throttled or unavailable after retries; the caller may try again after `retryAfter` seconds. */
export class TemporarilyUnavailableError extends OAuthError {
  override readonly name = 'TemporarilyUnavailableError';
  constructor(description: string, upstream: Upstream, retryAfter = 1) {
    super(503, 'temporarily_unavailable', description, retryAfter, upstream);
  }
}

/** 504: an upstream did not answer within its time budget. */
export class UpstreamTimeoutError extends OAuthError {
  override readonly name = 'UpstreamTimeoutError';
  constructor(upstream: Upstream) {
    super(504, 'temporarily_unavailable', `${UPSTREAM_NAMES[upstream]} did not answer in time`, undefined, upstream);
  }
}

/**
 * 500: the proxy itself is misconfigured or broken. Never caused by what a caller sent. `upstream`
 * names the service that showed it (a key KMS will not use, a secret that is not one), if any.
 */
export class ServerError extends OAuthError {
  override readonly name = 'ServerError';
  constructor(description: string, upstream?: Upstream) {
    super(500, 'server_error', description, undefined, upstream);
  }
}

/**
 * A bad configuration value, thrown at cold start so that Lambda reports an init error. It names
 * `variable` first, then any other bad ones (`more`), so one failed init shows every fix.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    reason: string,
    readonly more: ReadonlyArray<{ readonly name: string; readonly reason: string }> = [],
  ) {
    super([`${variable}: ${reason}`, ...more.map((problem) => `${problem.name}: ${problem.reason}`)].join('; '));
  }
}
