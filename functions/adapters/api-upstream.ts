import type { Deadline } from '../core/deadline.ts';
import { asksResourceNonce } from '../core/dpop-nonces.ts';
import type { DpopProver } from '../core/dpop-proof.ts';
import { UPSTREAM_NAMES, UpstreamError, UpstreamTimeoutError } from '../core/errors.ts';
import { requestRaw, ResponseTooLargeError } from './http-client.ts';

/**
 * One browser request forwarded to an API upstream with the session's access token (RFC 6750 2.1).
 * Headers pass by allow-list in both directions: the browser's cookies, credentials, CSRF header,
 * Host and hop-by-hop headers never reach the API, and the API's cookies never reach the browser.
 * No redirect is followed or passed on: the browser would go to it without the token, or the BFF
 * would send the token somewhere not configured.
 */
export const MAX_API_RESPONSE_BYTES = 5 * 1024 * 1024;

/** Content negotiation, conditional and range requests, and a correlation id. */
export const FORWARDED_REQUEST_HEADERS: readonly string[] = [
  'accept',
  'accept-language',
  'content-type',
  'content-language',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'range',
  'x-request-id',
];

/** What the browser needs to read the answer and cache it; `location` only for a 201 (RFC 9110 15.3.2). */
export const RETURNED_RESPONSE_HEADERS: readonly string[] = [
  'content-type',
  'content-language',
  // Not asked for (no accept-encoding is forwarded), but an API that compresses anyway stays readable.
  'content-encoding',
  'cache-control',
  'etag',
  'last-modified',
  'vary',
  'expires',
  'www-authenticate',
  'retry-after',
  'content-range',
  'accept-ranges',
];

export interface ApiRequest {
  readonly method: string;
  /** The upstream URL: the configured base, the checked path and the query (core/api-path.ts). */
  readonly url: URL;
  /** The browser's request headers; only FORWARDED_REQUEST_HEADERS are read. */
  readonly headers: Headers;
  /** At most 1 MiB: the app checks before calling. */
  readonly body?: Uint8Array;
  readonly accessToken: string;
  /** A DPoP-bound token (RFC 9449 7): `Authorization: DPoP`, and a proof for this URL with ath. */
  readonly dpop?: DpopProver;
}

export interface ApiResponse {
  readonly status: number;
  /** RETURNED_RESPONSE_HEADERS only, lower-case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

const API = UPSTREAM_NAMES.api;

export async function forwardToApi(request: ApiRequest, deadline: Deadline): Promise<ApiResponse> {
  const signal = deadline.signal();
  const { dpop } = request;
  const send = () =>
    requestRaw(request.url, {
      method: request.method,
      headers: {
        ...forwardedHeaders(request.headers, request.accessToken, dpop === undefined ? 'Bearer' : 'DPoP'),
        ...(dpop === undefined ? {} : { dpop: dpop.proof(request.method, request.url, request.accessToken) }),
      },
      ...(request.body === undefined ? {} : { body: request.body }),
      signal,
      maxResponseBytes: MAX_API_RESPONSE_BYTES,
    });
  let response;
  try {
    response = await send();
    // RFC 9449 9: one more try with the resource's new nonce; it refused the request unread.
    if (dpop !== undefined && dpop.nonces.remember(request.url, response.headers['dpop-nonce']) && asksResourceNonce(response.status, response.headers['www-authenticate'])) {
      response = await send();
      dpop.nonces.remember(request.url, response.headers['dpop-nonce']);
    }
  } catch (error) {
    if (signal.aborted) throw new UpstreamTimeoutError('api');
    if (error instanceof ResponseTooLargeError) {
      throw new UpstreamError(`${API} answered with more than ${MAX_API_RESPONSE_BYTES} bytes`, 'api');
    }
    throw new UpstreamError(`${API} could not be reached or closed the connection`, 'api');
  }
  if (response.status >= 300 && response.status < 400 && response.status !== 304) {
    throw new UpstreamError(`${API} answered with a redirect`, 'api');
  }
  return { status: response.status, headers: returnedHeaders(response.status, response.headers), body: response.body };
}

export function forwardedHeaders(incoming: Headers, accessToken: string, scheme: 'Bearer' | 'DPoP' = 'Bearer'): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = incoming.get(name);
    if (value !== null) headers[name] = value;
  }
  headers.authorization = `${scheme} ${accessToken}`;
  return headers;
}

export function returnedHeaders(
  status: number,
  incoming: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const names = status === 201 ? [...RETURNED_RESPONSE_HEADERS, 'location'] : RETURNED_RESPONSE_HEADERS;
  for (const name of names) {
    const value = incoming[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
