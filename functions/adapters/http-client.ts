import http from 'node:http';
import https from 'node:https';

/**
 * A minimal keep-alive HTTP client for the authorization server. node:http rather than fetch: on
 * Node 20 the first fetch loads undici (tens of milliseconds) and each request costs more CPU.
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

export function request(url: URL, options: HttpRequest): Promise<HttpResponse> {
  const transport = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      { method: options.method, headers, agent: agents[url.protocol as 'http:' | 'https:'], signal: options.signal },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new ResponseTooLargeError('response too large'));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
        // A connection that closes mid-body must not leave the promise pending.
        res.on('close', () => {
          if (!res.complete) reject(options.signal.aborted ? options.signal.reason : new Error('incomplete response'));
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
