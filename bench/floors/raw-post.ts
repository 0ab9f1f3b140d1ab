import http from 'node:http';
import https from 'node:https';

/**
 * The floors' HTTP client: one keep-alive agent per scheme and a request that collects the body.
 * Nothing else: no timeout, no size limit, no retry. What the real functions add on top of this is
 * what the benchmark measures. node:http, as functions/adapters/http-client.ts: fetch would load
 * undici's client on the first call and cost more CPU per request.
 */
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RawRequest {
  readonly method: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

export function rawRequest(url: URL, options: RawRequest): Promise<RawResponse> {
  const secure = url.protocol === 'https:';
  const headers = options.body === undefined ? options.headers : { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(url, { method: options.method, agent: agents[secure ? 'https:' : 'http:'], headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A form POST whose answer is read as text (the authorization server's JSON). */
export async function rawPost(url: URL, form: string): Promise<{ status: number; body: string }> {
  const answer = await rawRequest(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  return { status: answer.status, body: answer.body.toString('utf8') };
}
