import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fault-injecting authorization server on 127.0.0.1: discovery, PAR and token endpoints that
 * answer well by default and as scripted otherwise. It records every request it receives.
 */
export type Reply =
  | { readonly status: number; readonly body?: string | object; readonly headers?: Record<string, string> }
  | { readonly hang: true }
  | { readonly reset: true }
  | { readonly delayMs: number; readonly then: Reply };

export type Endpoint = 'discovery' | 'par' | 'token' | 'jwks' | 'revocation';
export type Script = (call: number, form: URLSearchParams, headers: http.IncomingHttpHeaders) => Reply | undefined;

export interface RecordedRequest {
  readonly endpoint: Endpoint;
  readonly form: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
}

export interface ScriptedAuthorizationServer {
  readonly issuer: string;
  readonly requests: RecordedRequest[];
  count(endpoint: Endpoint): number;
  script(endpoint: Endpoint, script: Script | undefined): void;
  reset(): void;
  close(): Promise<void>;
}

const PATHS: Record<string, Endpoint> = {
  '/.well-known/openid-configuration': 'discovery',
  '/oauth/par': 'par',
  '/oauth/token': 'token',
  '/.well-known/jwks.json': 'jwks',
  '/oauth/revoke': 'revocation',
};

/** What the discovery endpoint answers unless scripted: the endpoints this server serves. */
export const discoveryDocument = (issuer: string): Record<string, string> => ({
  issuer,
  authorization_endpoint: `${issuer}authorize`,
  pushed_authorization_request_endpoint: `${issuer}oauth/par`,
  token_endpoint: `${issuer}oauth/token`,
  jwks_uri: `${issuer}.well-known/jwks.json`,
  revocation_endpoint: `${issuer}oauth/revoke`,
});

export async function startScriptedAuthorizationServer(): Promise<ScriptedAuthorizationServer> {
  const requests: RecordedRequest[] = [];
  const scripts = new Map<Endpoint, Script>();
  const sockets = new Set<import('node:net').Socket>();
  let issuer = '';
  let issued = 0;

  const defaults: Record<Endpoint, () => Reply> = {
    discovery: () => ({ status: 200, body: discoveryDocument(issuer) }),
    par: () => ({ status: 201, body: { request_uri: `urn:ietf:params:oauth:request_uri:r${(issued += 1)}`, expires_in: 30 } }),
    token: () => ({
      status: 200,
      body: { access_token: `at-${(issued += 1)}`, token_type: 'Bearer', expires_in: 3600, id_token: 'x.y.z' },
    }),
    jwks: () => ({ status: 200, body: { keys: [] } }),
    // RFC 7009 2.2: 200 and nothing else, whether or not the token was valid.
    revocation: () => ({ status: 200, body: '' }),
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const endpoint = PATHS[new URL(req.url ?? '/', issuer).pathname];
      if (endpoint === undefined) {
        res.writeHead(404).end();
        return;
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      requests.push({ endpoint, form, headers: req.headers });
      const call = requests.filter((r) => r.endpoint === endpoint).length;
      const reply = scripts.get(endpoint)?.(call, form, req.headers) ?? defaults[endpoint]();
      answer(res, reply);
    });
  });

  function answer(res: http.ServerResponse, reply: Reply): void {
    if ('hang' in reply) return;
    if ('reset' in reply) {
      res.socket?.destroy();
      return;
    }
    if ('delayMs' in reply) {
      setTimeout(() => answer(res, reply.then), reply.delayMs).unref();
      return;
    }
    const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
    const type = typeof reply.body === 'string' ? 'text/html' : 'application/json';
    res.writeHead(reply.status, { 'content-type': type, ...reply.headers }).end(body);
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  return {
    issuer,
    requests,
    count: (endpoint) => requests.filter((r) => r.endpoint === endpoint).length,
    script: (endpoint, script) => {
      if (script === undefined) scripts.delete(endpoint);
      else scripts.set(endpoint, script);
    },
    reset: () => {
      requests.length = 0;
      scripts.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
