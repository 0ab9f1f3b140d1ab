import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthorizationServer } from '../../functions/adapters/authorization-server.ts';
import { IdTokenVerifier, JWKS_REFETCH_INTERVAL_MS } from '../../functions/adapters/id-token.ts';
import { jarmParameters } from '../../client/jarm.ts';
import { InvalidAuthorizationResponseError, JarmVerifier } from '../../functions/adapters/jarm.ts';
import { Deadline } from '../../functions/core/deadline.ts';
import { refusal } from '../helpers/refusal.ts';
import { startScriptedAuthorizationServer, type ScriptedAuthorizationServer } from '../helpers/scripted-authorization-server.ts';

/**
 * JARM responses (response_mode=jwt; JARM 4.4, FAPI 2.0 Message Signing) against discovery and a
 * JWKS served by a scripted authorization server on 127.0.0.1, with response JWTs signed here by
 * jose: each check is one refusal. The bff's verifier (functions/adapters/jarm.ts) takes the JWKS
 * from the ID token verifier's cache; the relay SPA client's (client/jarm.ts) is WebCrypto only.
 * The whole flows against oidc-provider: test/e2e/fapi2-bff-oidc-provider.test.ts and
 * fapi2-relay-oidc-provider.test.ts.
 */
const CLIENT_ID = 'bff-client';
const CODE = 'SplxlOBeZQQYbYS6WxSbIA-code';
const STATE = 'af0ifjsldkj-state';

let as: ScriptedAuthorizationServer;
let published: object[];
let now: number;

const keyA = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyB = generateKeyPairSync('rsa', { modulusLength: 2048 });
const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid, use: 'sig' });

beforeAll(async () => {
  as = await startScriptedAuthorizationServer();
});
afterAll(() => as.close());
beforeEach(() => {
  as.reset();
  now = Date.UTC(2026, 5, 1, 12);
  published = [jwk(keyA.publicKey, 'a'), jwk(ec.publicKey, 'ec')];
  as.script('discovery', () => ({
    status: 200,
    body: {
      issuer: as.issuer,
      token_endpoint: `${as.issuer}oauth/token`,
      jwks_uri: `${as.issuer}.well-known/jwks.json`,
      authorization_signing_alg_values_supported: ['PS256', 'RS256', 'HS256', 'none'],
    },
  }));
  as.script('jwks', () => ({ status: 200, body: { keys: published } }));
});

const deadline = () => Deadline.start(Date.now, 3000, 1000);

function verifiers(fapi2 = false) {
  const server = new AuthorizationServer(as.issuer, {});
  const idTokens = new IdTokenVerifier(server, CLIENT_ID, () => now);
  return { idTokens, jarm: new JarmVerifier(idTokens, server, CLIENT_ID, fapi2, () => now) };
}

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const iat = Math.floor(now / 1000);
  return { iss: as.issuer, aud: CLIENT_ID, exp: iat + 60, code: CODE, state: STATE, ...overrides };
}

function sign(payload: JWTPayload, options: { key?: KeyObject; alg?: string; kid?: string } = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: options.alg ?? 'PS256', kid: options.kid ?? 'a' }).sign(options.key ?? keyA.privateKey);
}

const query = (response: string, extra: Record<string, string> = {}) => new URLSearchParams({ response, ...extra });

async function expectRefused(response: string | Promise<string>, error: string, description: RegExp, options: { fapi2?: boolean; extra?: Record<string, string> } = {}): Promise<void> {
  const jwt = await response;
  const refused = await refusal(verifiers(options.fapi2).jarm.parameters(query(jwt, options.extra), deadline()));
  expect(refused).toBeInstanceOf(InvalidAuthorizationResponseError);
  expect({ status: refused.status, error: refused.error }).toEqual({ status: 400, error });
  expect(refused.description).toMatch(description);
  // Nothing of the JWT or the code in what reaches a log line or the SPA's URL.
  for (const part of [...jwt.split('.'), CODE].filter((p) => p.length > 8)) expect(refused.description).not.toContain(part);
}

describe('JarmVerifier (JARM 4.4)', () => {
  it("gives the response's code, state and iss as a query would carry them", async () => {
    const parameters = await verifiers().jarm.parameters(query(await sign(claims())), deadline());
    expect(Object.fromEntries(parameters)).toEqual({ iss: as.issuer, code: CODE, state: STATE });
  });

  it('passes an error response on, with its state, for the callback to report', async () => {
    const parameters = await verifiers().jarm.parameters(query(await sign(claims({ code: undefined, error: 'access_denied', error_description: 'no' }))), deadline());
    expect(Object.fromEntries(parameters)).toMatchObject({ error: 'access_denied', error_description: 'no', state: STATE });
  });

  it('refuses a forged signature: another key under the known kid', async () => {
    await expectRefused(sign(claims(), { key: impostor.privateKey }), 'invalid_authorization_response', /signature/);
  });

  it('refuses an unsigned response (alg none), though the server lists none', async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    await expectRefused(`${encode({ alg: 'none', kid: 'a' })}.${encode(claims())}.`, 'invalid_authorization_response', /algorithm/);
  });

  it('refuses an iss other than the issuer, or none, as a mix-up (RFC 9207)', async () => {
    await expectRefused(sign(claims({ iss: 'https://evil.example/' })), 'invalid_issuer', /another issuer/);
    await expectRefused(sign(claims({ iss: undefined })), 'invalid_issuer', /another issuer/);
  });

  it('refuses an aud that is not this client', async () => {
    await expectRefused(sign(claims({ aud: 'another-client' })), 'invalid_authorization_response', /"aud" claim/);
  });

  it('refuses an expired response, and one without exp', async () => {
    await expectRefused(sign(claims({ exp: Math.floor(now / 1000) - 31 })), 'invalid_authorization_response', /expired/);
    await expectRefused(sign(claims({ exp: undefined })), 'invalid_authorization_response', /"exp" claim/);
  });

  it('refuses a response without state, or with neither code nor error, or with a state that is not a string', async () => {
    await expectRefused(sign(claims({ state: undefined })), 'invalid_authorization_response', /no state/);
    await expectRefused(sign(claims({ code: undefined })), 'invalid_authorization_response', /neither a code nor an error/);
    await expectRefused(sign(claims({ state: 7 })), 'invalid_authorization_response', /"state" is not a string/);
  });

  it('refuses a plain code beside the response, and a plain query instead of it', async () => {
    await expectRefused(sign(claims()), 'invalid_request', /one signed response/, { extra: { code: CODE } });
    await expectRefused(sign(claims()), 'invalid_request', /one signed response/, { extra: { iss: as.issuer } });
    const plain = await refusal(verifiers().jarm.parameters(new URLSearchParams({ code: CODE, state: STATE, iss: as.issuer }), deadline()));
    expect(plain.error).toBe('invalid_request');
    expect(as.count('jwks')).toBe(0);
  });

  it('under SECURITY_PROFILE=fapi2 refuses RS256, though the server advertises it', async () => {
    await expect(verifiers(true).jarm.parameters(query(await sign(claims())), deadline())).resolves.toBeDefined();
    await expectRefused(sign(claims(), { alg: 'RS256' }), 'invalid_authorization_response', /algorithm/, { fapi2: true });
  });

  it("shares the ID token verifier's JWKS: one fetch for both, and one refetch for a rotated key", async () => {
    const { idTokens, jarm } = verifiers();
    await idTokens.prefetch(deadline());
    await jarm.parameters(query(await sign(claims())), deadline());
    expect(as.count('jwks')).toBe(1);
    published = [jwk(keyA.publicKey, 'a'), jwk(keyB.publicKey, 'b')];
    now += JWKS_REFETCH_INTERVAL_MS;
    await jarm.parameters(query(await sign(claims(), { key: keyB.privateKey, kid: 'b' })), deadline());
    expect(as.count('jwks')).toBe(2);
  });
});

class Refused extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(error);
  }
}

/** The SPA client's check, at the time `claims()` is made for. */
const check = (response: string, extra: Record<string, string> = {}) =>
  jarmParameters(new URLSearchParams({ response, ...extra }), { issuer: as.issuer, clientId: CLIENT_ID, now: Math.floor(now / 1000), fail: (error, description) => new Refused(error, description) });

async function clientRefused(response: string | Promise<string>, error: string, description: RegExp): Promise<void> {
  const jwt = await response;
  const refused = await check(jwt).then(() => undefined, (e: unknown) => e);
  expect(refused).toBeInstanceOf(Refused);
  expect((refused as Refused).error).toBe(error);
  expect((refused as Refused).description).toMatch(description);
  expect((refused as Refused).description).not.toContain(CODE);
}

describe('jarmParameters: the relay SPA client (client/jarm.ts, WebCrypto)', () => {
  it('gives code, state and iss of a PS256, RS256 or ES256 response signed by a key of the JWKS from discovery', async () => {
    for (const options of [{}, { alg: 'RS256' }, { alg: 'ES256', key: ec.privateKey, kid: 'ec' }]) {
      expect(Object.fromEntries(await check(await sign(claims(), options)))).toEqual({ iss: as.issuer, code: CODE, state: STATE });
    }
  });

  it('refuses a signature by another key under the known kid, an unknown kid, and a key of another type', async () => {
    await clientRefused(sign(claims(), { key: impostor.privateKey }), 'invalid_authorization_response', /signature/);
    await clientRefused(sign(claims(), { kid: 'other' }), 'invalid_authorization_response', /no one key/);
    await clientRefused(sign(claims(), { kid: 'ec' }), 'invalid_authorization_response', /no one key/);
  });

  it('refuses alg none and HS256 keyed with the public key (algorithm confusion)', async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    await clientRefused(`${encode({ alg: 'none', kid: 'a' })}.${encode(claims())}.`, 'invalid_authorization_response', /algorithm/);
    const n = Buffer.from(String(keyA.publicKey.export({ format: 'jwk' }).n), 'base64url');
    await clientRefused(sign(claims(), { alg: 'HS256', key: n as unknown as KeyObject }), 'invalid_authorization_response', /algorithm/);
    await clientRefused(`${encode({ alg: 'constructor' })}.${encode(claims())}.x`, 'invalid_authorization_response', /algorithm/);
  });

  it('refuses keys from a discovery document of another issuer (mix-up of the metadata)', async () => {
    as.script('discovery', () => ({ status: 200, body: { issuer: 'https://evil.example/', jwks_uri: `${as.issuer}.well-known/jwks.json` } }));
    await clientRefused(sign(claims()), 'invalid_authorization_response', /no one key/);
  });

  it('refuses another iss as a mix-up (RFC 9207), another aud, and an exp past the 60 s leeway or missing', async () => {
    await clientRefused(sign(claims({ iss: 'https://evil.example/' })), 'invalid_issuer', /another issuer/);
    await clientRefused(sign(claims({ aud: 'other-client' })), 'invalid_authorization_response', /aud/);
    await clientRefused(sign(claims({ aud: [CLIENT_ID, 'api'] })), 'invalid_authorization_response', /aud/);
    await clientRefused(sign(claims({ exp: Math.floor(now / 1000) - 60 })), 'invalid_authorization_response', /exp/);
    await clientRefused(sign(claims({ exp: undefined })), 'invalid_authorization_response', /exp/);
    await expect(check(await sign(claims({ exp: Math.floor(now / 1000) - 59 })))).resolves.toBeDefined();
  });

  it('refuses a response without state, with neither code nor error, and a malformed one', async () => {
    await clientRefused(sign(claims({ state: undefined })), 'invalid_authorization_response', /no state/);
    await clientRefused(sign(claims({ code: undefined })), 'invalid_authorization_response', /neither a code nor an error/);
    await clientRefused(sign(claims({ code: 42 })), 'invalid_authorization_response', /not a string/);
    await clientRefused('not-a-jwt', 'invalid_authorization_response', /not a signed JWT/);
    await clientRefused('eyJ!.eyJ!.x', 'invalid_authorization_response', /not a signed JWT/);
  });

  it('refuses any parameter beside the response, fetching nothing', async () => {
    const refused = await check(await sign(claims()), { code: CODE }).then(() => undefined, (e: unknown) => e);
    expect((refused as Refused).error).toBe('invalid_request');
    expect(as.count('jwks')).toBe(0);
  });
});
