import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, EmbeddedJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { forwardToApi } from '../../functions/adapters/api-upstream.ts';
import { AuthorizationServer } from '../../functions/adapters/authorization-server.ts';
import { secretsManagerClient } from '../../functions/adapters/aws-clients.ts';
import { clientSecretAuthentication, type ClientAuthentication } from '../../functions/adapters/client-authentication.ts';
import { ClientSecretSource } from '../../functions/adapters/client-secret.ts';
import { requestTokenSet } from '../../functions/adapters/token-endpoint.ts';
import { Deadline } from '../../functions/core/deadline.ts';
import { DpopNonces } from '../../functions/core/dpop-nonces.ts';
import { dpopJkt, dpopProver, newDpopKey } from '../../functions/core/dpop-proof.ts';
import { CLIENT_ID, startHarness, type Harness } from '../helpers/harness.ts';
import { refusal } from '../helpers/refusal.ts';

/**
 * The bff's DPoP (RFC 9449) on the wire: the token endpoint's proof and nonce retry (sections 5, 8)
 * against the scripted authorization server, and the API call's (sections 7, 9) against a real HTTP
 * server, both on 127.0.0.1, with the real adapters.
 */
let harness: Harness;
let auth: ClientAuthentication;
let api: http.Server;
let apiBase: string;
let apiHandler: (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void;
const apiReceived: { headers: http.IncomingHttpHeaders; body: Buffer }[] = [];

beforeAll(async () => {
  harness = await startHarness();
  auth = clientSecretAuthentication('client_secret_post', CLIENT_ID, new ClientSecretSource(secretsManagerClient({ timeoutMs: 1000 }), harness.secretArn));
  api = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      apiReceived.push({ headers: req.headers, body: Buffer.concat(chunks) });
      apiHandler(req, Buffer.concat(chunks), res);
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiBase = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(async () => {
  api.closeAllConnections();
  await new Promise<void>((resolve) => api.close(() => resolve()));
  await harness.close();
});
beforeEach(() => {
  harness.as.reset();
  apiReceived.length = 0;
});

const deadline = () => Deadline.start(Date.now, 3000, 1000);
const REFRESH = { grant_type: 'refresh_token', refresh_token: 'the-refresh-token' } as const;
const key = newDpopKey();
const prover = () => dpopProver(key, new DpopNonces(), Date.now);
const tokenEndpoint = () => `${harness.as.issuer}oauth/token`;
const proofsSent = () => harness.as.requests.filter((r) => r.endpoint === 'token').map((r) => String(r.headers.dpop));
const useNonce = (nonce?: string) => ({
  status: 400,
  body: { error: 'use_dpop_nonce', error_description: 'Authorization server requires nonce in DPoP proof' },
  ...(nonce === undefined ? {} : { headers: { 'dpop-nonce': nonce } }),
});

describe('the token endpoint with a proof (RFC 9449 5, 8)', () => {
  it('sends a proof for POST to the token endpoint; on 400 use_dpop_nonce with a DPoP-Nonce it tries once more with that nonce and a new jti, and takes the DPoP token', async () => {
    harness.as.script('token', (call) => (call === 1 ? useNonce('nonce-1') : { status: 200, body: { access_token: 'at', token_type: 'DPoP', expires_in: 60 } }));
    const tokens = await requestTokenSet(new AuthorizationServer(harness.as.issuer, {}), auth, CLIENT_ID, REFRESH, deadline(), prover());
    expect(tokens).toEqual({ access_token: 'at', token_type: 'DPoP', expires_in: 60 });
    const [first, second] = proofsSent();
    expect(proofsSent()).toHaveLength(2);
    const verified = await jwtVerify(second!, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(verified.payload).toMatchObject({ htm: 'POST', htu: tokenEndpoint(), nonce: 'nonce-1' });
    expect(verified.payload.ath).toBeUndefined();
    expect(decodeJwt(first!).nonce).toBeUndefined();
    expect(decodeJwt(first!).jti).not.toBe(verified.payload.jti);
  });

  it('tries once only: a second use_dpop_nonce is answered, not retried; none without a DPoP-Nonce header', async () => {
    let nonce = 0;
    harness.as.script('token', () => useNonce(`nonce-${(nonce += 1)}`));
    const twice = await refusal(requestTokenSet(new AuthorizationServer(harness.as.issuer, {}), auth, CLIENT_ID, REFRESH, deadline(), prover()));
    expect(twice.error).toBe('use_dpop_nonce');
    expect(proofsSent()).toHaveLength(2);

    harness.as.reset();
    harness.as.script('token', () => useNonce());
    await refusal(requestTokenSet(new AuthorizationServer(harness.as.issuer, {}), auth, CLIENT_ID, REFRESH, deadline(), prover()));
    expect(proofsSent()).toHaveLength(1);
  });

  it('a stale nonce (the server rotated it): the remembered one is sent, refused with a new one, and the retry carries the new one', async () => {
    harness.as.script('token', (_call, _form, headers) =>
      decodeJwt(String(headers.dpop)).nonce === 'fresh' ? { status: 200, body: { access_token: 'at', token_type: 'DPoP' } } : useNonce('fresh'),
    );
    const dpop = prover();
    dpop.nonces.remember(tokenEndpoint(), 'stale');
    await requestTokenSet(new AuthorizationServer(harness.as.issuer, {}), auth, CLIENT_ID, REFRESH, deadline(), dpop);
    expect(proofsSent().map((proof) => decodeJwt(proof).nonce)).toEqual(['stale', 'fresh']);
    expect(dpop.nonces.get(tokenEndpoint())).toBe('fresh');
  });

  it('refuses a Bearer token to a proved request (502): a bearer token would be usable by whoever copied it', async () => {
    harness.as.script('token', () => ({ status: 200, body: { access_token: 'at', token_type: 'Bearer' } }));
    const error = await refusal(requestTokenSet(new AuthorizationServer(harness.as.issuer, {}), auth, CLIENT_ID, REFRESH, deadline(), prover()));
    expect({ status: error.status, error: error.error }).toEqual({ status: 502, error: 'server_error' });
    expect(error.description).toMatch(/other than DPoP/);
  });
});

describe('API calls with a DPoP-bound token (RFC 9449 7, 9)', () => {
  const call = (dpop = prover(), method = 'GET', body?: Uint8Array) =>
    forwardToApi({ method, url: new URL(`${apiBase}/api/items?page=2#x`), headers: new Headers(), accessToken: 'the-access-token', dpop, ...(body === undefined ? {} : { body }) }, deadline());

  it('sends Authorization: DPoP and a proof for the method and URL without its query, with ath', async () => {
    apiHandler = (_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    expect((await call()).status).toBe(200);
    const { headers } = apiReceived[0]!;
    expect(headers.authorization).toBe('DPoP the-access-token');
    const { payload, protectedHeader } = await jwtVerify(String(headers.dpop), EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(payload).toMatchObject({ htm: 'GET', htu: `${apiBase}/api/items`, ath: createHash('sha256').update('the-access-token').digest('base64url') });
    expect(dpopJkt(protectedHeader.jwk as { x: string; y: string })).toBe(dpopJkt(key));
  });

  it('on 401 WWW-Authenticate: DPoP error="use_dpop_nonce" sends once more with the nonce, the body included; the nonce is kept for the next call', async () => {
    apiHandler = (req, _body, res) => {
      if (decodeJwt(String(req.headers.dpop)).nonce !== 'rs-nonce') {
        res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce required"', 'dpop-nonce': 'rs-nonce' }).end();
      } else res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    };
    const dpop = prover();
    expect((await call(dpop, 'POST', Buffer.from('{"a":1}'))).status).toBe(201);
    expect(apiReceived.map((r) => r.body.toString())).toEqual(['{"a":1}', '{"a":1}']);
    expect((await call(dpop, 'POST', Buffer.from('{"a":2}'))).status).toBe(201);
    expect(apiReceived).toHaveLength(3);
  });

  it('does not retry another 401 (invalid_token), nor a use_dpop_nonce without a new nonce: the API\'s answer is passed on', async () => {
    apiHandler = (_req, _body, res) => res.writeHead(401, { 'www-authenticate': 'DPoP error="invalid_token"', 'dpop-nonce': 'n1' }).end();
    const dpop = prover();
    const answer = await call(dpop);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('DPoP error="invalid_token"');
    apiHandler = (_req, _body, res) => res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n1' }).end();
    expect((await call(dpop)).status).toBe(401);
    expect(apiReceived).toHaveLength(2);
  });
});
