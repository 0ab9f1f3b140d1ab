import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { SessionKeySource } from '../../functions/adapters/session-keys.ts';
import type { Purpose, SealablePayload } from '../../functions/core/sealed-cookie.ts';
import type { SessionPayload } from '../../functions/core/session.ts';
import { FAKE_REGION } from '../../local/fake-kms.ts';
import { apiEvent } from './events.ts';

/**
 * What the bff's remote-call test and the benchmark (bench/) share: an API upstream on 127.0.0.1
 * that counts what reaches it, a session as large as a real one, sealed with the deployment's own
 * key derivation, and the API Gateway events that carry it.
 */
export interface CountingApi {
  /** The base URL for API_UPSTREAMS, e.g. http://127.0.0.1:PORT/api. */
  readonly url: string;
  /** Requests received so far. */
  count(): number;
  /** The Authorization header of the last request. */
  lastAuthorization(): string | undefined;
  close(): Promise<void>;
}

/** About what an orders API answers: a small JSON document. */
const API_ANSWER = JSON.stringify({
  orders: Array.from({ length: 3 }, (_, i) => ({ id: `ord_${1000 + i}`, total: { amount: 4200 + i, currency: 'EUR' }, status: 'shipped' })),
  next: null,
});

export async function startCountingApi(): Promise<CountingApi> {
  let count = 0;
  let authorization: string | undefined;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count += 1;
      authorization = req.headers.authorization;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'private, max-age=0' }).end(API_ANSWER);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`,
    count: () => count,
    lastAuthorization: () => authorization,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT-shaped access token of the size an Auth0-like server issues (RS256: a 342-character signature). */
export function realisticAccessToken(issuer: string, clientId: string, now: number): string {
  const header = { alg: 'RS256', typ: 'at+jwt', kid: randomBytes(16).toString('base64url') };
  const claims = {
    iss: issuer,
    sub: 'auth0|65f1c0ffee5d3b2a9c8e7f61',
    aud: ['https://api.example.com', `${issuer}userinfo`],
    iat: now,
    exp: now + 86_400,
    scope: 'openid profile email offline_access read:orders',
    azp: clientId,
    jti: randomBytes(16).toString('base64url'),
    permissions: ['read:orders', 'read:profile'],
  };
  return `${b64(header)}.${b64(claims)}.${randomBytes(256).toString('base64url')}`;
}

/** The claims of an Auth0-like ID token, as the callback keeps them (no nonce or hashes). */
export function realisticClaims(issuer: string, clientId: string, now: number): Record<string, unknown> {
  return {
    given_name: 'Katherine',
    family_name: 'Johnson',
    nickname: 'katherine.johnson',
    name: 'Katherine Johnson',
    picture: `https://s.gravatar.com/avatar/${randomBytes(16).toString('hex')}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fkj.png`,
    updated_at: '2025-05-14T09:26:53.112Z',
    email: 'katherine.johnson@example.com',
    email_verified: true,
    iss: issuer,
    aud: clientId,
    sub: 'auth0|65f1c0ffee5d3b2a9c8e7f61',
    iat: now,
    exp: now + 36_000,
    sid: randomBytes(24).toString('base64url'),
  };
}

/**
 * A session as the callback writes it for an Auth0-like server: claims, a JWT access token, a
 * refresh token and scope. `accessTokenExpiresIn` below REFRESH_WITHIN_SECONDS (30) makes every API
 * call refresh it first.
 */
export function realisticSession(issuer: string, clientId: string, now: number, accessTokenExpiresIn: number): SessionPayload {
  return {
    v: 1,
    iat: now,
    exp: now + 8 * 3600,
    claims: realisticClaims(issuer, clientId, now),
    access_token: realisticAccessToken(issuer, clientId, now),
    token_type: 'Bearer',
    expires_at: now + accessTokenExpiresIn,
    refresh_token: `v1.${randomBytes(96).toString('base64url')}`,
    scope: 'openid profile email offline_access read:orders',
  };
}

/** Seals `payload` exactly as the bff would, with the keys of the session-keys secret `secretId` in the fake Secrets Manager at `url`. */
export async function sealWithDeployedKeys(url: string, secretId: string, payload: SealablePayload, purpose: Purpose): Promise<string> {
  const client = new SecretsManagerClient({ region: FAKE_REGION, endpoint: url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    return await new SessionKeySource(client, secretId).seal(payload, purpose, () => AbortSignal.timeout(5000));
  } finally {
    client.destroy();
  }
}

/** An API Gateway v2 event from the SPA: X-CSRF, its Origin, and the cookies in `event.cookies` as API Gateway passes them. */
export function bffEvent(options: {
  method: string;
  path: string;
  query?: string;
  /** The SPA's origin; a navigation (the callback) sends none. */
  origin?: string;
  cookies?: readonly string[];
  body?: string;
  csrf?: boolean;
}): APIGatewayProxyEventV2 {
  const event = apiEvent({
    method: options.method,
    path: options.path,
    headers: {
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      accept: 'application/json',
      ...(options.csrf === false ? {} : { 'x-csrf': '1' }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return { ...event, rawQueryString: options.query ?? '', ...(options.cookies === undefined ? {} : { cookies: [...options.cookies] }) };
}
