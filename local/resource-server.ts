import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, SignJWT } from 'jose';
import type { LocalIntrospectionClient } from './authorization-server.ts';

/**
 * A tiny API on 127.0.0.1 for the bff demo and tests: GET {basePath}/me answers who the bearer
 * access token (RFC 6750) belongs to. oidc-provider's access tokens are opaque, so it asks the
 * authorization server's userinfo endpoint (from discovery) on every call. It records every
 * request it receives, and misbehaves when a test tells it to. Local stack and tests only.
 */
export interface LocalResourceServerOptions {
  /** The authorization server whose userinfo endpoint validates the tokens. */
  readonly issuer: string;
  /** Port to listen on (0: any free one). */
  readonly port?: number;
  /** Where the API is mounted: GET {basePath}/me. Default /api. */
  readonly basePath?: string;
  /**
   * DPoP-bound tokens only (RFC 9449 7): `Authorization: DPoP`, a proof checked as a resource
   * server must, this server's nonce required, and the token introspected (RFC 7662) as this
   * client (private_key_jwt) to compare its cnf.jkt with the proof's key.
   */
  readonly dpop?: LocalIntrospectionClient;
}

export interface ReceivedRequest {
  readonly method: string;
  /** The path with its query, as it arrived. */
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** What every request gets instead of the real answer, until told otherwise. */
export type Misbehaviour =
  /** The real answer, plus this Set-Cookie (which a proxy must not pass on). */
  | { readonly setCookie: string }
  /** This answer instead: a redirect, a 500, a body that is not JSON, ... */
  | { readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string }
  /** No answer at all. */
  | { readonly hang: true }
  /** The connection closed without an answer. */
  | { readonly reset: true }
  /** Bytes that are not HTTP, then the connection closed. */
  | { readonly garbage: true };

export interface LocalResourceServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** url + basePath: the base URL to name in API_UPSTREAMS. */
  readonly apiUrl: string;
  readonly requests: readonly ReceivedRequest[];
  misbehave(misbehaviour: Misbehaviour | undefined): void;
  /** With `dpop`: a new nonce; the previous one is refused from now on (a stale nonce). */
  rotateDpopNonce(): void;
  /** Forgets the requests and behaves again. */
  reset(): void;
  close(): Promise<void>;
}

interface Answer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

const REALM = 'Bearer realm="local-api"';
/** RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
/** Far above the proxy's 1 MiB request bound, to see a proxy that does not keep it. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const USERINFO_TIMEOUT_MS = 5000;
/** RFC 9449 11.1: how far a proof's iat may be from now. */
const DPOP_IAT_WINDOW_SECONDS = 60;
const DPOP_ALGS = ['ES256', 'PS256'];
const DPOP_TOKEN = /^DPoP +([A-Za-z0-9\-._~+/]+=*)$/;

const challenge = (error: string, description: string): Answer => ({
  status: error === 'invalid_request' ? 400 : 401,
  headers: { 'www-authenticate': `${REALM}, error="${error}"` },
  body: { error, error_description: description },
});

export async function startLocalResourceServer(options: LocalResourceServerOptions): Promise<LocalResourceServer> {
  const basePath = (options.basePath ?? '/api').replace(/\/$/, '');
  const requests: ReceivedRequest[] = [];
  let misbehaviour: Misbehaviour | undefined;
  const endpoints = new Map<string, Promise<string>>();
  let url = '';
  let dpopNonce = randomBytes(16).toString('base64url');
  /** jti -> iat of every accepted proof, kept past the iat window (RFC 9449 11.1). */
  const seenJtis = new Map<string, number>();

  /** An endpoint from discovery (OpenID Connect Discovery 4), once; again after a failure. */
  function endpoint(field: 'userinfo_endpoint' | 'introspection_endpoint'): Promise<string> {
    let found = endpoints.get(field);
    if (found === undefined) {
      found = (async () => {
        const discovery = `${options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
        const response = await fetch(discovery, { signal: AbortSignal.timeout(USERINFO_TIMEOUT_MS) });
        const metadata = (await response.json()) as Record<string, unknown>;
        if (metadata.issuer !== options.issuer || typeof metadata[field] !== 'string') {
          throw new Error(`the discovery document names another issuer or no ${field}`);
        }
        return metadata[field];
      })();
      found.catch(() => endpoints.delete(field));
      endpoints.set(field, found);
    }
    return found;
  }
  const userinfo = () => endpoint('userinfo_endpoint');

  const dpopChallenge = (error: string, description: string, extra: Record<string, string> = {}): Answer => ({
    status: error === 'invalid_request' ? 400 : 401,
    headers: { 'www-authenticate': `DPoP algs="${DPOP_ALGS.join(' ')}", error="${error}", error_description="${description}"`, ...extra },
    body: { error, error_description: description },
  });

  /** RFC 9449 4.3 and 7: the proof, this server's nonce, the token's binding (cnf.jkt, by introspection). */
  /** RFC 7523 2.2 as FAPI 2.0 wants it: iss = sub = the client, aud = the issuer, a new jti, 60 s. */
  const clientAssertion = (client: LocalIntrospectionClient) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'PS256', typ: 'JWT' })
      .setIssuer(client.clientId)
      .setSubject(client.clientId)
      .setAudience(options.issuer)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(client.privateKey);

  async function dpopMe(req: http.IncomingMessage, client: LocalIntrospectionClient): Promise<Answer> {
    const authorization = req.headers.authorization;
    if (authorization === undefined || !/^DPoP(\s|$)/i.test(authorization)) {
      // 7.1: a DPoP-bound token sent as Bearer (or none) is refused, naming the scheme it needs.
      return dpopChallenge('invalid_token', 'a DPoP-bound access token and a DPoP proof are required');
    }
    const token = DPOP_TOKEN.exec(authorization)?.[1];
    const proof = req.headers.dpop;
    if (token === undefined || typeof proof !== 'string' || proof.includes(',')) {
      return dpopChallenge('invalid_request', 'one Authorization: DPoP token and one DPoP proof are required');
    }
    let claims: Record<string, unknown>;
    let jwk: Record<string, unknown>;
    try {
      const verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: DPOP_ALGS });
      claims = verified.payload;
      jwk = verified.protectedHeader.jwk as Record<string, unknown>;
    } catch {
      return dpopChallenge('invalid_dpop_proof', 'the DPoP proof does not verify');
    }
    const now = Math.floor(Date.now() / 1000);
    const htu = `${url}${new URL(req.url ?? '/', 'http://local').pathname}`;
    const expected = {
      htm: claims.htm === req.method,
      htu: typeof claims.htu === 'string' && claims.htu === htu,
      iat: typeof claims.iat === 'number' && Math.abs(now - claims.iat) <= DPOP_IAT_WINDOW_SECONDS,
      jti: typeof claims.jti === 'string' && claims.jti.length >= 16,
      ath: claims.ath === createHash('sha256').update(token, 'ascii').digest('base64url'),
    };
    const failed = Object.entries(expected).find(([, ok]) => !ok)?.[0];
    if (failed !== undefined) return dpopChallenge('invalid_dpop_proof', `the DPoP proof's ${failed} is wrong`);
    // 9: this server's nonce, else a new one to retry with.
    if (claims.nonce !== dpopNonce) return dpopChallenge('use_dpop_nonce', 'a DPoP proof with this server\'s nonce is required', { 'dpop-nonce': dpopNonce });
    for (const [jti, iat] of seenJtis) if (iat < now - 2 * DPOP_IAT_WINDOW_SECONDS) seenJtis.delete(jti);
    if (seenJtis.has(claims.jti as string)) return dpopChallenge('invalid_dpop_proof', 'the DPoP proof was used before');
    seenJtis.set(claims.jti as string, claims.iat as number);

    let introspected: Record<string, unknown>;
    try {
      const response = await fetch(await endpoint('introspection_endpoint'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          token,
          token_type_hint: 'access_token',
          client_id: client.clientId,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: await clientAssertion(client),
        }).toString(),
        signal: AbortSignal.timeout(USERINFO_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`introspection answered ${response.status}`);
      introspected = (await response.json()) as Record<string, unknown>;
    } catch {
      return { status: 503, body: { error: 'temporarily_unavailable', error_description: 'the authorization server cannot be reached' } };
    }
    const cnf = introspected.cnf as { jkt?: unknown } | undefined;
    if (introspected.active !== true || introspected.token_type !== 'DPoP' || typeof introspected.sub !== 'string') {
      return dpopChallenge('invalid_token', 'the access token is invalid, expired, revoked or not DPoP-bound');
    }
    // 6.1: the token is bound to the key that signed the proof.
    if (cnf?.jkt !== (await calculateJwkThumbprint(jwk as never))) return dpopChallenge('invalid_token', 'the access token is bound to another key');
    return { status: 200, headers: { 'dpop-nonce': dpopNonce }, body: { sub: introspected.sub } };
  }

  /** RFC 6750 3: who the token is for, or the challenge. */
  async function me(authorization: string | undefined): Promise<Answer> {
    if (authorization === undefined || !/^Bearer(\s|$)/i.test(authorization)) {
      // 3.1: a request without authentication information gets no error code.
      return { status: 401, headers: { 'www-authenticate': REALM }, body: { error_description: 'a bearer access token is required' } };
    }
    const token = BEARER.exec(authorization)?.[1];
    if (token === undefined) return challenge('invalid_request', 'the Authorization header is not "Bearer <token>"');
    let response: Response;
    try {
      response = await fetch(await userinfo(), {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(USERINFO_TIMEOUT_MS),
      });
    } catch {
      return { status: 503, body: { error: 'temporarily_unavailable', error_description: 'the authorization server cannot be reached' } };
    }
    if (response.status === 401 || response.status === 403) {
      return challenge('invalid_token', 'the access token is invalid, expired or revoked');
    }
    const claims = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok || typeof claims.sub !== 'string') {
      return { status: 503, body: { error: 'temporarily_unavailable', error_description: `userinfo answered ${response.status}` } };
    }
    // A few claims an API might show; nothing about the token itself.
    const { sub, name, email } = claims;
    return { status: 200, body: { sub, name, email } };
  }

  async function answer(req: http.IncomingMessage): Promise<Answer> {
    const { pathname } = new URL(req.url ?? '/', 'http://local');
    if (pathname !== `${basePath}/me`) return { status: 404, body: { error: 'not_found' } };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return { status: 405, headers: { allow: 'GET, HEAD' }, body: { error: 'invalid_request', error_description: 'GET only' } };
    }
    return options.dpop === undefined ? me(req.headers.authorization) : dpopMe(req, options.dpop);
  }

  function send(res: http.ServerResponse, reply: Answer): void {
    const body = typeof reply.body === 'string' ? reply.body : reply.body === undefined ? '' : JSON.stringify(reply.body);
    const type = typeof reply.body === 'object' ? { 'content-type': 'application/json' } : {};
    res.writeHead(reply.status, { ...type, ...reply.headers }).end(body);
  }

  async function respond(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const current = misbehaviour;
    if (current !== undefined && 'hang' in current) return;
    if (current !== undefined && 'reset' in current) {
      res.socket?.destroy();
      return;
    }
    if (current !== undefined && 'garbage' in current) {
      res.socket?.end('\u0000\u00ffnot http at all\r\n\r\n');
      return;
    }
    if (current !== undefined && 'status' in current) {
      send(res, current);
      return;
    }
    const real = await answer(req);
    if (current !== undefined) res.setHeader('set-cookie', current.setCookie);
    send(res, { ...real, headers: { 'cache-control': 'no-store', ...real.headers } });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, body: Buffer.concat(chunks) });
      if (size > MAX_BODY_BYTES) send(res, { status: 413, body: { error: 'invalid_request', error_description: 'body too large' } });
      else respond(req, res).catch(() => send(res, { status: 500, body: { error: 'server_error' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    apiUrl: `${url}${basePath}`,
    requests,
    misbehave: (next) => {
      misbehaviour = next;
    },
    rotateDpopNonce: () => {
      dpopNonce = randomBytes(16).toString('base64url');
    },
    reset: () => {
      requests.length = 0;
      misbehaviour = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
