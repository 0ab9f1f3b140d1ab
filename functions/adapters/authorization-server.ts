import { AsyncCache } from '../core/cache.ts';
import { parseUrl } from '../core/config.ts';
import type { Deadline } from '../core/deadline.ts';
import {
  ConfigError,
  ServerError,
  TemporarilyUnavailableError,
  UpstreamError,
  UpstreamRefusedError,
  UPSTREAM_NAMES,
  UpstreamTimeoutError,
  type OAuthError,
} from '../core/errors.ts';
import { request, type HttpResponse } from './http-client.ts';

export type EndpointName = 'par' | 'authorization' | 'token' | 'jwks' | 'revocation' | 'end_session';

const DISCOVERY_FIELDS: Record<EndpointName, string> = {
  par: 'pushed_authorization_request_endpoint',
  authorization: 'authorization_endpoint',
  token: 'token_endpoint',
  jwks: 'jwks_uri',
  // RFC 8414 2 (RFC 7009), OpenID Connect RP-Initiated Logout 1.0 2.1: optional.
  revocation: 'revocation_endpoint',
  end_session: 'end_session_endpoint',
};

const AS = UPSTREAM_NAMES.authorization_server;

/**
 * The authorization server: its endpoints (configured, or from its discovery document, fetched once
 * per container and never cached when the fetch fails) and form posts to them.
 */
export class AuthorizationServer {
  private readonly discovery: AsyncCache<Readonly<Record<string, unknown>>>;

  constructor(
    readonly issuer: string,
    private readonly configured: Partial<Record<EndpointName, string>>,
  ) {
    this.discovery = new AsyncCache((signal) => this.discover(signal));
  }

  async endpoint(name: EndpointName, deadline: Deadline): Promise<string> {
    const configured = this.configured[name];
    if (configured !== undefined) return configured;
    const document = await this.document(deadline);
    const field = DISCOVERY_FIELDS[name];
    try {
      if (typeof document[field] !== 'string') throw new ConfigError(field, 'is missing');
      return parseUrl(document[field], field).href;
    } catch (error) {
      // Not kept: once the authorization server's document is fixed, the next request reads it again.
      this.discovery.invalidate();
      throw new ServerError(error instanceof ConfigError ? `discovery: ${error.message}` : 'discovery failed', 'authorization_server');
    }
  }

  /** An endpoint the server may not have (revocation, end session): undefined when discovery names none. */
  async optionalEndpoint(name: EndpointName, deadline: Deadline): Promise<string | undefined> {
    if (this.configured[name] === undefined && (await this.metadata(DISCOVERY_FIELDS[name], deadline)) === undefined) {
      return undefined;
    }
    return this.endpoint(name, deadline);
  }

  /** A field of the discovery document (the one `endpoint` reads, so usually no further call). */
  async metadata(field: string, deadline: Deadline): Promise<unknown> {
    return (await this.document(deadline))[field];
  }

  /** `retryStaleSocket`: the post may be sent twice (http-client.ts), e.g. a PAR push. */
  post(url: string, form: URLSearchParams, headers: Record<string, string>, deadline: Deadline, retryStaleSocket = false): Promise<HttpResponse> {
    return deadline.timed('authorization_server', () =>
      this.send(new URL(url), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: form.toString(),
        signal: deadline.signal(),
        retryStaleSocket,
      }),
    );
  }

  private document(deadline: Deadline): Promise<Readonly<Record<string, unknown>>> {
    return deadline.cached('authorization_server', (signal) => this.discovery.get(signal));
  }

  /** A GET of a document the server publishes (its JWKS), under `signal`. */
  get(url: string, signal: AbortSignal): Promise<HttpResponse> {
    return this.send(new URL(url), { method: 'GET', signal });
  }

  private async send(url: URL, options: Parameters<typeof request>[1]): Promise<HttpResponse> {
    try {
      return await request(url, options);
    } catch {
      if (options.signal.aborted) throw new UpstreamTimeoutError('authorization_server');
      throw new UpstreamError(`${AS} could not be reached or closed the connection`, 'authorization_server');
    }
  }

  /** OpenID Connect Discovery 1.0 4: issuer + /.well-known/openid-configuration; 4.3: issuer must match. */
  private async discover(signal: AbortSignal): Promise<Readonly<Record<string, unknown>>> {
    const url = new URL(`${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    const response = await this.send(url, { method: 'GET', signal });
    const document = response.status === 200 ? jsonObject(response.body) : undefined;
    if (document === undefined) throw new UpstreamError(`discovery failed: ${AS} answered ${response.status}`, 'authorization_server');
    if (document.issuer !== this.issuer) throw new ServerError('discovery: the issuer does not match ISSUER', 'authorization_server');
    return document;
  }
}

export function jsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 6749 5.2: error and error_description are restricted to these characters. */
const ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
const ERROR_DESCRIPTION = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,256}$/;

/** The OAuth error of an error response, if it has a well-formed one. */
export function oauthError(response: HttpResponse): { error: string; description?: string } | undefined {
  const body = jsonObject(response.body);
  const { error, error_description: description } = body ?? {};
  if (!isErrorCode(error)) return undefined;
  return isErrorDescription(description) ? { error, description } : { error };
}

/** RFC 6749 4.1.2.1 and 5.2: an error code the proxy may echo, from a body or an authorization response. */
export const isErrorCode = (raw: unknown): raw is string => typeof raw === 'string' && ERROR_CODE.test(raw);
export const isErrorDescription = (raw: unknown): raw is string => typeof raw === 'string' && ERROR_DESCRIPTION.test(raw);

/** RFC 9110 10.2.3, delta-seconds only; anything else (or nothing) becomes 1 s. Capped at an hour. */
export function retryAfter(response: HttpResponse): number {
  const raw = response.headers['retry-after'];
  return typeof raw === 'string' && /^\d{1,6}$/.test(raw.trim()) ? Math.min(3600, Number(raw)) : 1;
}

/**
 * OAuth errors the caller caused, whichever endpoint answers them: a request the SPA can fix
 * (RFC 6749 5.2 and 4.1.2.1, RFC 9126 2.3, OAuth 2.0 Multiple Response Types (response modes),
 * RFC 9396 5, RFC 8707 2). The token endpoint adds `invalid_grant` (TOKEN_CALLER_ERRORS).
 * Everything else means the proxy is misconfigured (invalid_client after the rotation retry,
 * unauthorized_client, invalid_request_object, invalid_redirect_uri) or is not known: 502, which pages.
 */
export const CALLER_ERRORS: ReadonlySet<string> = new Set([
  'invalid_request',
  'invalid_scope',
  'unsupported_response_mode',
  'invalid_authorization_details',
  'invalid_target',
]);

/** RFC 6749 5.2: a code or refresh token that is invalid, expired, revoked or used (Auth0 answers 403). */
export const TOKEN_CALLER_ERRORS: ReadonlySet<string> = new Set([...CALLER_ERRORS, 'invalid_grant']);

/**
 * What the caller gets for a PAR or token endpoint answer that was not a success: 429 is 503 with
 * its Retry-After. A 4xx with a well-formed OAuth error is mapped by its code, whatever the status
 * (Auth0 answers 403 to some): one of `callerErrors` is 400, the caller's own doing (counted as
 * Refused, never toward the 5xx alarm); any other is 502 with that error. Anything else is 502
 * server_error.
 */
export function failureOf(response: HttpResponse, request: string, callerErrors: ReadonlySet<string>): OAuthError {
  if (response.status === 429) {
    return new TemporarilyUnavailableError(`${AS} is rate limiting requests`, 'authorization_server', retryAfter(response));
  }
  const refused = response.status >= 400 && response.status < 500 ? oauthError(response) : undefined;
  if (refused !== undefined) {
    return new UpstreamRefusedError(
      callerErrors.has(refused.error) ? 400 : 502,
      refused.error,
      refused.description ?? `the authorization server refused the ${request}`,
    );
  }
  return new UpstreamError(`${AS} answered ${response.status} to the ${request}`, 'authorization_server');
}
