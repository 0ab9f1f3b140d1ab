import http from 'node:http';
import https from 'node:https';

/**
 * A minimal keep-alive HTTP client for the authorization server and the bff's API upstreams.
 * node:http rather than fetch: on Node 20 the first fetch loads undici (tens of milliseconds) and
 * each request costs more CPU.
 */
export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal: AbortSignal;
  /** RawHttpRequest's. */
  readonly retryStaleSocket?: boolean;
}

/** Any method, bytes in and out, and a limit of the caller's: what a proxied API call needs. */
export interface RawHttpRequest {
  readonly method: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly signal: AbortSignal;
  /** Larger answers are refused with ResponseTooLargeError; MAX_RESPONSE_BYTES when absent. */
  readonly maxResponseBytes?: number;
  /**
   * Send once more when a pooled socket turns out closed: by default only for methods that are
   * idempotent (RFC 9110 9.2.2); a POST only when sending it twice does no harm.
   */
  readonly retryStaleSocket?: boolean;
}

export interface RawHttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Responses larger than this are refused: no authorization server answer needs more. */
export const MAX_RESPONSE_BYTES = 256 * 1024;

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 128 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 128 }),
};

export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

/** A request to the authorization server: JSON expected, the body as text. */
export async function request(url: URL, options: HttpRequest): Promise<HttpResponse> {
  const response = await requestRaw(url, { ...options, headers: { accept: 'application/json', ...options.headers } });
  return { status: response.status, headers: response.headers, body: response.body.toString('utf8') };
}

/**
 * Sends exactly the headers given (plus content-length for a body); the answer's body as bytes. A
 * kept-alive socket that the server closed while it sat idle fails the next request on it with
 * ECONNRESET before any answer: that request most likely never reached the server, so it is sent
 * once more on a new socket (what Node's documentation advises for `request.reusedSocket`), when
 * sending it twice would do no harm (`retryStaleSocket`).
 */
export async function requestRaw(url: URL, options: RawHttpRequest): Promise<RawHttpResponse> {
  try {
    return await attempt(url, options);
  } catch (error) {
    if (!(error instanceof StaleSocketError) || options.signal.aborted) throw error;
    if (!(options.retryStaleSocket ?? IDEMPOTENT.has(options.method))) throw error.cause;
    return attempt(url, options, false);
  }
}

class StaleSocketError extends Error {
  override readonly name = 'StaleSocketError';
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

function attempt(url: URL, options: RawHttpRequest, retryStale = true): Promise<RawHttpResponse> {
  const transport = url.protocol === 'https:' ? https : http;
  const limit = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = transport.request(
      url,
      { method: options.method, headers, agent: agents[url.protocol as 'http:' | 'https:'], signal: options.signal },
      (res) => {
        answered = true;
        res.on('error', reject);
        const tooLarge = () => {
          reject(new ResponseTooLargeError(`response larger than ${limit} bytes`));
          req.destroy();
        };
        // A declared length over the limit is refused before a byte of it is read.
        if (Number(res.headers['content-length']) > limit) {
          tooLarge();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            tooLarge();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        // A connection that closes mid-body must not leave the promise pending.
        res.on('close', () => {
          if (!res.complete) reject(options.signal.aborted ? options.signal.reason : new Error('incomplete response'));
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      const stale = retryStale && req.reusedSocket && !answered && STALE_SOCKET_CODES.has(error.code ?? '');
      reject(stale ? new StaleSocketError(error.message, { cause: error }) : error);
    });
    req.end(options.body);
  });
}
