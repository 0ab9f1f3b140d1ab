import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthorizationServer } from '../../functions/adapters/authorization-server.ts';
import {
  IdTokenVerifier,
  InvalidIdTokenError,
  JWKS_REFETCH_INTERVAL_MS,
  JWKS_TTL_MS,
} from '../../functions/adapters/id-token.ts';
import { Deadline } from '../../functions/core/deadline.ts';
import { startScriptedAuthorizationServer, type ScriptedAuthorizationServer } from '../helpers/scripted-authorization-server.ts';
import { refusal } from '../helpers/refusal.ts';

/**
 * ID token validation (OpenID Connect Core 1.0 3.1.3.7) against a JWKS served over HTTP by a
 * scripted authorization server on 127.0.0.1, with tokens signed here by jose: each rule of 3.1.3.7
 * is one refusal, and the JWKS is fetched through the proxy's own HTTP client, cached and refetched
 * once when a kid is unknown (key rotation).
 */
const CLIENT_ID = 'bff-client';
const NONCE = 'n-0S6_WzA2Mj';

let as: ScriptedAuthorizationServer;
let published: object[];
let advertised: unknown;
let now: number;

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyA = rsa();
const keyB = rsa();
const impostor = rsa();
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const jwk = (key: KeyObject, kid: string, alg?: string) => ({ ...key.export({ format: 'jwk' }), kid, use: 'sig', ...(alg ? { alg } : {}) });

beforeAll(async () => {
  as = await startScriptedAuthorizationServer();
});
afterAll(() => as.close());
beforeEach(() => {
  as.reset();
  now = Date.UTC(2026, 5, 1, 12);
  published = [jwk(keyA.publicKey, 'a', 'RS256'), jwk(ec.publicKey, 'ec')];
  // Listed by the server, but never accepted: none and HS256 are dropped from what it advertises.
  advertised = ['RS256', 'ES256', 'HS256', 'none'];
  as.script('discovery', () => ({
    status: 200,
    body: {
      issuer: as.issuer,
      token_endpoint: `${as.issuer}oauth/token`,
      jwks_uri: `${as.issuer}.well-known/jwks.json`,
      id_token_signing_alg_values_supported: advertised,
    },
  }));
  as.script('jwks', () => ({ status: 200, body: { keys: published } }));
});

const verifier = () => new IdTokenVerifier(new AuthorizationServer(as.issuer, {}), CLIENT_ID, () => now);
const deadline = () => Deadline.start(Date.now, 3000, 1000);

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const iat = Math.floor(now / 1000);
  return { iss: as.issuer, sub: 'ada', aud: CLIENT_ID, iat, exp: iat + 300, nonce: NONCE, ...overrides };
}

function sign(payload: JWTPayload, options: { key?: KeyObject; alg?: string; kid?: string } = {}): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'a', typ: 'JWT' })
    .sign(options.key ?? keyA.privateKey);
}

async function expectInvalid(token: string | Promise<string>, description: RegExp, v = verifier()): Promise<void> {
  const jwt = await token;
  const error = await refusal(v.verify(jwt, NONCE, deadline()));
  expect(error).toBeInstanceOf(InvalidIdTokenError);
  expect({ status: error.status, error: error.error }).toEqual({ status: 502, error: 'invalid_id_token' });
  expect(error.description).toMatch(description);
  // Nothing of the token or the nonce in what may reach a log line or a URL.
  for (const part of [...jwt.split('.'), NONCE].filter((p) => p.length > 8)) expect(error.description).not.toContain(part);
}

describe('IdTokenVerifier: OpenID Connect Core 3.1.3.7', () => {
  it('returns the claims of a token signed with a key of the JWKS from discovery (3.1.3.7 items 2-11)', async () => {
    const verified = await verifier().verify(await sign(claims()), NONCE, deadline());
    expect(verified).toMatchObject({ sub: 'ada', iss: as.issuer, aud: CLIENT_ID, nonce: NONCE });
    expect(as.count('jwks')).toBe(1);
  });

  it('accepts ES256 with an EC key the JWKS lists without alg (the key type decides)', async () => {
    const token = await sign(claims(), { key: ec.privateKey, alg: 'ES256', kid: 'ec' });
    await expect(verifier().verify(token, NONCE, deadline())).resolves.toMatchObject({ sub: 'ada' });
  });

  it('item 2: refuses an iss other than the issuer exactly (a trailing slash differs)', async () => {
    await expectInvalid(sign(claims({ iss: 'https://evil.example/' })), /"?iss"? claim/);
    await expectInvalid(sign(claims({ iss: as.issuer.replace(/\/$/, '') })), /"?iss"? claim/);
    await expectInvalid(sign(claims({ iss: undefined })), /"?iss"? claim/);
  });

  it('item 3: refuses an aud that does not contain the client_id', async () => {
    await expectInvalid(sign(claims({ aud: 'another-client' })), /"?aud"? claim/);
    await expectInvalid(sign(claims({ aud: ['another-client', 'third'] })), /"?aud"? claim/);
  });

  it('items 4-5: with several audiences azp must be present and be the client_id; a present azp must be the client_id', async () => {
    await expectInvalid(sign(claims({ aud: [CLIENT_ID, 'api'] })), /azp/);
    await expectInvalid(sign(claims({ aud: [CLIENT_ID, 'api'], azp: 'api' })), /azp/);
    await expectInvalid(sign(claims({ azp: 'another-client' })), /azp/);
    const several = await sign(claims({ aud: [CLIENT_ID, 'api'], azp: CLIENT_ID }));
    await expect(verifier().verify(several, NONCE, deadline())).resolves.toMatchObject({ azp: CLIENT_ID });
  });

  it('items 6-7: refuses a signature by another key under a known kid', async () => {
    await expectInvalid(sign(claims(), { key: impostor.privateKey }), /signature/);
  });

  it('items 6-7: refuses alg none, even when the authorization server advertises it', async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    await expectInvalid(`${encode({ alg: 'none', kid: 'a' })}.${encode(claims())}.`, /algorithm/);
    await expectInvalid(`${encode({ alg: 'none' })}.${encode(claims())}.`, /algorithm/);
  });

  it('items 6-7: refuses HS256 keyed with the RSA public key (algorithm confusion), and refetches no JWKS for it', async () => {
    const v = verifier();
    now += JWKS_REFETCH_INTERVAL_MS;
    const n = Buffer.from(String(keyA.publicKey.export({ format: 'jwk' }).n), 'base64url');
    await expectInvalid(sign(claims(), { key: n as unknown as KeyObject, alg: 'HS256' }), /algorithm/, v);
    const pem = Buffer.from(String(keyA.publicKey.export({ format: 'pem', type: 'spki' })));
    await expectInvalid(sign(claims(), { key: pem as unknown as KeyObject, alg: 'HS256' }), /algorithm/, v);
    now += JWKS_REFETCH_INTERVAL_MS;
    await expectInvalid(sign(claims(), { key: n as unknown as KeyObject, alg: 'HS256', kid: 'unknown' }), /algorithm/, v);
    expect(as.count('jwks')).toBe(1);
  });

  it('items 6-7: refuses an alg the discovery document does not list (PS256 with a fitting RSA key)', async () => {
    published = [jwk(keyA.publicKey, 'a')];
    await expectInvalid(sign(claims(), { alg: 'PS256' }), /algorithm/);
  });

  it('item 9: refuses an expired token, past the 30 s tolerance', async () => {
    const iat = Math.floor(now / 1000) - 600;
    await expectInvalid(sign(claims({ iat, exp: iat + 569 })), /expired/);
    await expect(verifier().verify(await sign(claims({ iat, exp: iat + 590 })), NONCE, deadline())).resolves.toBeDefined();
    await expectInvalid(sign(claims({ exp: undefined })), /"?exp"? claim/);
  });

  it('item 10: refuses an iat in the future beyond the tolerance; within it, accepts', async () => {
    const iat = Math.floor(now / 1000);
    await expectInvalid(sign(claims({ iat: iat + 31, exp: iat + 600 })), /iat/);
    await expect(verifier().verify(await sign(claims({ iat: iat + 29, exp: iat + 600 })), NONCE, deadline())).resolves.toBeDefined();
    await expectInvalid(sign(claims({ iat: undefined })), /"?iat"? claim/);
  });

  it('item 11: refuses a nonce other than the one sent, or none', async () => {
    await expectInvalid(sign(claims({ nonce: 'another-nonce' })), /nonce/);
    await expectInvalid(sign(claims({ nonce: undefined })), /nonce/);
  });

  it('Core 2: refuses a token without a string sub', async () => {
    await expectInvalid(sign(claims({ sub: undefined })), /"?sub"? claim/);
    await expectInvalid(sign(claims({ sub: 42 })), /"?sub"? claim/);
  });

  it('refuses what is not a JWT', async () => {
    await expectInvalid(Promise.resolve('not-a-jwt'), /malformed/);
  });
});

describe('IdTokenVerifier: the JWKS cache and key rotation (3.1.3.7 item 6, Core 10.1.1)', () => {
  it('fetches the JWKS once per container and again after 10 minutes', async () => {
    const v = verifier();
    await v.verify(await sign(claims()), NONCE, deadline());
    await v.verify(await sign(claims()), NONCE, deadline());
    expect(as.count('jwks')).toBe(1);
    now += JWKS_TTL_MS + 1;
    await v.verify(await sign(claims()), NONCE, deadline());
    expect(as.count('jwks')).toBe(2);
  });

  it('an unknown kid: one refetch, then refused; another unknown kid within 60 s fetches nothing more', async () => {
    const v = verifier();
    await v.verify(await sign(claims()), NONCE, deadline());
    now += JWKS_REFETCH_INTERVAL_MS;
    const unknown = await sign(claims(), { key: impostor.privateKey, kid: 'unknown' });
    const first = await refusal(v.verify(unknown, NONCE, deadline()));
    expect(first).toBeInstanceOf(InvalidIdTokenError);
    expect(first.description).toMatch(/no key/);
    expect(as.count('jwks')).toBe(2);
    now += JWKS_REFETCH_INTERVAL_MS - 1000;
    expect(await refusal(v.verify(unknown, NONCE, deadline()))).toBeInstanceOf(InvalidIdTokenError);
    expect(as.count('jwks')).toBe(2);
    now += 1000;
    expect(await refusal(v.verify(unknown, NONCE, deadline()))).toBeInstanceOf(InvalidIdTokenError);
    expect(as.count('jwks')).toBe(3);
  });

  it('a key the authorization server rotated in is accepted after one refetch', async () => {
    const v = verifier();
    await v.verify(await sign(claims()), NONCE, deadline());
    // The server rotates: key b signs from now on, key a is still published for tokens in flight.
    published = [jwk(keyB.publicKey, 'b', 'RS256'), jwk(keyA.publicKey, 'a', 'RS256')];
    now += JWKS_REFETCH_INTERVAL_MS;
    const rotated = await sign(claims(), { key: keyB.privateKey, kid: 'b' });
    await expect(v.verify(rotated, NONCE, deadline())).resolves.toMatchObject({ sub: 'ada' });
    await expect(v.verify(await sign(claims()), NONCE, deadline())).resolves.toMatchObject({ sub: 'ada' });
    expect(as.count('jwks')).toBe(2);
  });

  it('concurrent tokens with the rotated kid share one refetch', async () => {
    const v = verifier();
    await v.verify(await sign(claims()), NONCE, deadline());
    published = [jwk(keyB.publicKey, 'b', 'RS256')];
    now += JWKS_REFETCH_INTERVAL_MS;
    const rotated = await sign(claims(), { key: keyB.privateKey, kid: 'b' });
    const results = await Promise.all([1, 2, 3].map(() => v.verify(rotated, NONCE, deadline())));
    expect(results.map((r) => r.sub)).toEqual(['ada', 'ada', 'ada']);
    expect(as.count('jwks')).toBe(2);
  });

  it('a JWKS that cannot be read is the server failing (502 server_error), not an invalid token, and is not kept', async () => {
    as.script('jwks', (call) => (call === 1 ? { status: 500, body: 'oops' } : undefined));
    const v = verifier();
    const error = await refusal(v.verify(await sign(claims()), NONCE, deadline()));
    expect({ status: error.status, error: error.error, name: error.name }).toEqual({ status: 502, error: 'server_error', name: 'UpstreamError' });
    as.script('jwks', () => ({ status: 200, body: { keys: published } }));
    await expect(v.verify(await sign(claims()), NONCE, deadline())).resolves.toBeDefined();
  });

  it('a JWKS that hangs: 504 within the request deadline', async () => {
    as.script('jwks', () => ({ hang: true }));
    const started = Date.now();
    const error = await refusal(verifier().verify(await sign(claims()), NONCE, Deadline.start(Date.now, 400, 300)));
    expect({ status: error.status, name: error.name }).toEqual({ status: 504, name: 'UpstreamTimeoutError' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('discovery without jwks_uri: 500 naming the field', async () => {
    as.script('discovery', () => ({ status: 200, body: { issuer: as.issuer } }));
    const error = await refusal(verifier().verify(await sign(claims()), NONCE, deadline()));
    expect({ status: error.status, description: error.description }).toEqual({ status: 500, description: 'discovery: jwks_uri: is missing' });
  });
});
