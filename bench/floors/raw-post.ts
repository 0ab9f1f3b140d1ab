import http from 'node:http';
import https from 'node:https';

/**
 * The floor's HTTP client: one keep-alive agent per scheme and a form POST that collects the body.
 * Nothing else: no timeout, no size limit, no retry. What the real functions add on top of this is
 * what the benchmark measures.
 */
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

export interface RawResponse {
  readonly status: number;
  readonly body: string;
}

export function rawPost(url: URL, form: string): Promise<RawResponse> {
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      url,
      {
        method: 'POST',
        agent: agents[secure ? 'https:' : 'http:'],
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(form);
  });
}
