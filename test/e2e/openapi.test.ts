import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS } from '../../functions/core/api-path.ts';
import { INTENT_FIELDS } from '../../functions/core/intent.ts';
import type { Mode } from '../../functions/manifest.ts';
import type { Fault } from '../../local/aws-json-server.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { BffBrowser } from '../helpers/bff-browser.ts';
import { logIn } from '../helpers/browser-session.ts';
import { logoutForm, logoutToken, postLogoutToken } from '../helpers/logout-token.ts';
import {
  answerProblems,
  brokenRefs,
  componentSchema,
  documentedOperations,
  documentedResponses,
  DOCUMENTS,
  EXERCISED,
  manifestOperations,
  pathItem,
  requestProblems,
  sharedResponse,
  type RealAnswer,
} from '../helpers/openapi.ts';

/**
 * docs/openapi/relay.json and bff.json (OpenAPI 3.1.0) against the proxy itself: every route of
 * functions/manifest.ts has its operation and no operation lacks a route, and the real answers of the
 * local stack (the handlers built from their environment, the real AWS SDK against the local KMS and
 * Secrets Manager, a real oidc-provider) have a documented status, their required headers, the
 * documented media type and a JSON body that the documented schema accepts: a member the schema
 * does not list, or a required one missing, fails.
 */

describe('the documents and functions/manifest.ts', () => {
  it('are OpenAPI 3.1.0, and every $ref resolves', () => {
    for (const document of DOCUMENTS.values()) expect((document as { openapi: string }).openapi).toBe('3.1.0');
    expect(brokenRefs()).toEqual([]);
  });

  it.each<Mode>(['relay', 'bff'])('%s: an operation for every route of the manifest, and a route for every operation', (mode) => {
    const declared = manifestOperations(mode).map((route) => route.operation).sort();
    expect(documentedOperations(mode).sort()).toEqual(declared);
  });

  it('the intent schemas: relay\'s names every field core/intent.ts takes; the bff\'s those and return_to, less the ones the proxy makes', () => {
    expect(Object.keys(componentSchema('relay.json', 'Intent').properties as object).sort()).toEqual([...INTENT_FIELDS].sort());
    const bff = Object.keys(componentSchema('bff.json', 'BffIntent').properties as object);
    expect(bff.filter((field) => field !== 'return_to' && !(INTENT_FIELDS as string[]).includes(field))).toEqual([]);
  });

  it('bff: the routes under BASE_PATH use the {basePath} server, the others (the JWKS) the root', () => {
    const base = (DOCUMENTS.get('bff.json') as { servers: Array<{ url: string }> }).servers;
    expect(base.map((server) => server.url)).toEqual(['{origin}{basePath}']);
    for (const route of manifestOperations('bff')) {
      const servers = pathItem('bff', route.path)!.node.servers as Array<{ url: string }> | undefined;
      expect(servers?.map((server) => server.url), route.operation).toEqual(route.underBasePath ? undefined : ['{origin}']);
    }
  });
});

/** A fetch of the local stack, bounded, its answer read whole. */
async function call(url: string, init: RequestInit = {}): Promise<RealAnswer> {
  const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000), ...init });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const json = (origin: string, extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', origin, ...extra });

function intent(stack: LocalStack, verifier: string, extra: Record<string, unknown> = {}) {
  return {
    redirect_uri: stack.redirectUri,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
    scope: 'openid offline_access',
    prompt: 'consent',
    ...extra,
  };
}

/**
 * POST /par 201, the login at oidc-provider, POST /token 200, and the used code's 400: each real
 * answer, and each request the test sent, against relay.json.
 */
async function relayLogin(stack: LocalStack): Promise<void> {
  const verifier = randomBytes(32).toString('base64url');
  const sent = intent(stack, verifier);
  expect(requestProblems('relay', 'POST', '/par', sent)).toEqual([]);
  const post = (path: string, body: unknown) => call(`${stack.proxyUrl}${path}`, { method: 'POST', headers: json(stack.proxyUrl), body: JSON.stringify(body) });
  const pushed = await post('/par', sent);
  expectAnswer('relay', 'POST', '/par', pushed, 201);

  const callback = await logIn(String(JSON.parse(pushed.text).authorization_url), stack.redirectUri, 'grace.hopper');
  const grant = { grant_type: 'authorization_code', code: callback.searchParams.get('code'), code_verifier: verifier, redirect_uri: stack.redirectUri };
  expect(requestProblems('relay', 'POST', '/token', grant)).toEqual([]);
  expectAnswer('relay', 'POST', '/token', await post('/token', grant), 200);
  // The code is used: the authorization server's invalid_grant, as 400 (RFC 6749 5.2).
  expectAnswer('relay', 'POST', '/token', await post('/token', grant), 400);
  expectAnswer('relay', 'GET', '/.well-known/jwks.json', await call(`${stack.proxyUrl}/.well-known/jwks.json`), 200);
}

/** The answer has `status`, and the document's response for it describes it. */
function expectAnswer(mode: Mode, method: string, path: string, answer: RealAnswer, status: number, useDefault = false): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answerProblems(mode, method, path, answer, useDefault)).toEqual([]);
}

/**
 * A whole bff session: /session signed out, /par 201, /callback 303 signed in, /session signed in,
 * an API call passed through, /logout 200, the JWKS at the root.
 */
async function bffSession(stack: LocalStack, basePath: string): Promise<void> {
  const b = new BffBrowser(stack.proxyUrl, basePath);
  expectAnswer('bff', 'GET', '/session', await b.request(`${basePath}/session`), 200);
  const sent = { scope: 'openid profile offline_access', return_to: '/orders' };
  expect(requestProblems('bff', 'POST', '/par', sent)).toEqual([]);
  const started = await b.startLogin(sent);
  expectAnswer('bff', 'POST', '/par', started, 201);
  const callback = await b.callback(await b.authorize(String(started.json?.authorization_url)));
  expectAnswer('bff', 'GET', '/callback', callback, 303);
  expect(callback.headers.get('location')).toBe(`${stack.proxyUrl}/orders`);
  const session = await b.request(`${basePath}/session`);
  expectAnswer('bff', 'GET', '/session', session, 200);
  expect(session.json?.authenticated).toBe(true);
  // The API's own answers, passed through (GET /me is 200, the rest the API's 404 or 405): the default response.
  expectAnswer('bff', 'GET', '/api/{name}/{proxy}', await b.request(`${basePath}/api/demo/me`), 200, true);
  for (const method of API_METHODS.filter((name) => name !== 'GET')) {
    const answer = await b.request(`${basePath}/api/demo/me`, { method, ...(method === 'HEAD' ? {} : { body: '{}' }) });
    expect(answer.status, `${method}: ${answer.text}`).not.toBe(401);
    expect(answerProblems('bff', method, '/api/{name}/{proxy}', answer, true)).toEqual([]);
  }
  expectAnswer('bff', 'POST', '/logout', await b.request(`${basePath}/logout`, { method: 'POST' }), 200);
  expectAnswer('bff', 'GET', '/.well-known/jwks.json', await call(`${stack.proxyUrl}/.well-known/jwks.json`), 200);
}

/** KMS Sign failures and the status each is answered with (README, "POST /par" errors). */
const KMS_SIGN_FAULTS: Array<[number, Fault]> = [
  [503, { kind: 'error', type: 'ThrottlingException', status: 400 }],
  [504, { kind: 'hang' }],
  [502, { kind: 'respond', status: 200, body: { KeyId: 'k', Signature: Buffer.from('short').toString('base64') } }],
  [500, { kind: 'error', type: 'AccessDeniedException', status: 400 }],
];

async function withKmsFault(stack: LocalStack, fault: Fault, use: () => Promise<void>): Promise<void> {
  stack.kms.setFault((operation) => (operation === 'Sign' ? fault : undefined));
  try {
    await use();
  } finally {
    stack.kms.setFault(undefined);
  }
}

describe('relay: the real answers match relay.json', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ env: { UPSTREAM_TIMEOUT_MS: '1000' } });
  }, 30_000);
  afterAll(async () => {
    stack?.kms.setFault(undefined);
    await stack?.close();
  });

  const par = (body: string, headers: Record<string, string>) => call(`${stack.proxyUrl}/par`, { method: 'POST', headers, body });
  const expectDocumented = (method: string, path: string, answer: RealAnswer, status: number) => expectAnswer('relay', method, path, answer, status);

  it('POST /par 201, then POST /token 200 and 400 for the used code (RFC 9126 2.2, RFC 6749 5.1, 5.2); their requests match the request schemas', () =>
    relayLogin(stack));

  it('POST /par and /token refusals: 400 (a member the intent has no place for), 403 (Origin), 413, 415', async () => {
    const sent = intent(stack, randomBytes(32).toString('base64url'), { client_id: 'x' });
    expect(requestProblems('relay', 'POST', '/par', sent)).not.toEqual([]);
    expectDocumented('POST', '/par', await par(JSON.stringify(sent), json(stack.proxyUrl)), 400);
    expectDocumented('POST', '/par', await par('{}', json('https://evil.example')), 403);
    expectDocumented('POST', '/par', await par(JSON.stringify({ state: 'x'.repeat(9000) }), json(stack.proxyUrl)), 413);
    expectDocumented('POST', '/par', await par('{}', { 'content-type': 'text/plain', origin: stack.proxyUrl }), 415);
    const token = (body: string, headers: Record<string, string>) => call(`${stack.proxyUrl}/token`, { method: 'POST', headers, body });
    expectDocumented('POST', '/token', await token('{"grant_type":"password"}', json(stack.proxyUrl)), 400);
    expectDocumented('POST', '/token', await token('{}', json('https://evil.example')), 403);
    expectDocumented('POST', '/token', await token('{}', { 'content-type': 'text/plain' }), 415);
    expectDocumented('POST', '/token', await token(JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'x'.repeat(9000) }), json(stack.proxyUrl)), 413);
  });

  it.each(KMS_SIGN_FAULTS)('POST /par %i when KMS Sign fails', (status, fault) =>
    withKmsFault(stack, fault, async () => expectDocumented('POST', '/par', await par(JSON.stringify(intent(stack, randomBytes(32).toString('base64url'))), json(stack.proxyUrl)), status)));
});

// SECURITY_PROFILE=fapi2 implies DPoP (and private_key_jwt, PS256): the same answers.
describe.each<[string, Parameters<typeof startLocalStack>[0]]>([
  ['relay with DPOP=true', { dpop: true }],
  ['relay under SECURITY_PROFILE=fapi2', { profile: 'fapi2' }],
])('%s: the real answers match relay.json (RFC 9449)', (_name, options) => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack(options);
  }, 30_000);
  afterAll(() => stack?.close());

  it('/par 201 with token_endpoint, 400 without dpop_jkt; /token 400 without a proof, 400 use_dpop_nonce with DPoP-Nonce, then 200', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const verifier = randomBytes(32).toString('base64url');
    const post = (path: string, body: unknown, extra: Record<string, string> = {}) =>
      call(`${stack.proxyUrl}${path}`, { method: 'POST', headers: json(stack.proxyUrl, extra), body: JSON.stringify(body) });
    const check = (path: string, answer: RealAnswer, status: number) => {
      expect(answer.status, answer.text).toBe(status);
      expect(answerProblems('relay', 'POST', path, answer)).toEqual([]);
    };

    check('/par', await post('/par', intent(stack, verifier)), 400);
    const sent = intent(stack, verifier, { dpop_jkt: await calculateJwkThumbprint(jwk, 'sha256') });
    const pushed = await post('/par', sent);
    check('/par', pushed, 201);
    const { authorization_url: authorizationUrl, token_endpoint: htu } = JSON.parse(pushed.text) as Record<string, string>;

    const callback = await logIn(authorizationUrl!, stack.redirectUri, 'grace.hopper');
    const grant = { grant_type: 'authorization_code', code: callback.searchParams.get('code'), code_verifier: verifier, redirect_uri: stack.redirectUri };
    check('/token', await post('/token', grant), 400);
    const proof = (nonce?: string) =>
      new SignJWT({ htm: 'POST', htu, jti: randomBytes(16).toString('base64url'), ...(nonce === undefined ? {} : { nonce }) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .setIssuedAt()
        .sign(privateKey);
    const first = await post('/token', grant, { dpop: await proof() });
    check('/token', first, 400);
    expect(first.headers.get('dpop-nonce')).not.toBeNull();
    check('/token', await post('/token', grant, { dpop: await proof(first.headers.get('dpop-nonce')!) }), 200);
  });
});

describe('bff with BASE_PATH=/auth: the real answers match bff.json', () => {
  const basePath = '/auth';
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ mode: 'bff', basePath, env: { UPSTREAM_TIMEOUT_MS: '1000' } });
  }, 30_000);
  afterAll(() => stack?.close());

  const browser = () => new BffBrowser(stack.proxyUrl, basePath);
  const expectDocumented = (method: string, path: string, answer: RealAnswer, status: number) => expectAnswer('bff', method, path, answer, status);

  it('a whole session: /session, /par 201, /callback 303, /session signed in, the API through, /logout 200, the JWKS at the root (RFC 10017 6.1)', () =>
    bffSession(stack, basePath));

  it('refusals: 403 without X-CSRF, 400, 413 and 415 at /par, /callback 303 with an error, and the API 401, 404, 400, 403, 413 for each method', async () => {
    const b = browser();
    for (const [method, path] of [['POST', '/par'], ['GET', '/session'], ['POST', '/logout'], ['GET', '/api/{name}/{proxy}']] as const) {
      const target = `${basePath}${path.replace('{name}/{proxy}', 'demo/x')}`;
      expectDocumented(method, path, await b.request(target, { method, headers: { 'x-csrf': '' } }), 403);
    }
    // Each intent field the bff's schema leaves out is one the proxy makes: the bff's /par refuses it, naming it.
    const bffFields = Object.keys(componentSchema('bff.json', 'BffIntent').properties as object);
    for (const field of INTENT_FIELDS.filter((name) => !bffFields.includes(name))) {
      const refused = await b.startLogin({ [field]: field === 'max_age' ? 1 : 'x' });
      expectDocumented('POST', '/par', refused, 400);
      expect(refused.json?.error_description, field).toContain(field);
    }
    const sent = { state: 'mine' };
    expect(requestProblems('bff', 'POST', '/par', sent)).not.toEqual([]);
    expectDocumented('POST', '/par', await b.startLogin(sent), 400);
    expectDocumented('POST', '/par', await b.request(`${basePath}/par`, { method: 'POST', body: JSON.stringify({ scope: 'x'.repeat(9000) }) }), 413);
    expectDocumented('POST', '/par', await b.request(`${basePath}/par`, { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } }), 415);
    expectDocumented('GET', '/callback', await b.request(`${basePath}/callback?code=c&state=none`, { js: false }), 303);
    for (const method of API_METHODS) {
      const api = (target: string, init: { body?: string; headers?: Record<string, string> } = {}) => b.request(`${basePath}/api/${target}`, { method, ...init });
      expectDocumented(method, '/api/{name}/{proxy}', await api('demo/me'), 401);
      expectDocumented(method, '/api/{name}/{proxy}', await api('nowhere/me'), 404);
      expectDocumented(method, '/api/{name}/{proxy}', await api('demo/a//b'), 400);
      expectDocumented(method, '/api/{name}/{proxy}', await api('demo/me', { headers: { 'x-csrf': '' } }), 403);
      if (method !== 'GET' && method !== 'HEAD') expectDocumented(method, '/api/{name}/{proxy}', await api('demo/me', { body: 'x'.repeat(1024 * 1024 + 1) }), 413);
    }
  });

  it.each(KMS_SIGN_FAULTS)('POST /par %i when KMS Sign fails', (status, fault) =>
    withKmsFault(stack, fault, async () => expectDocumented('POST', '/par', await browser().startLogin(), status)));

  it('POST /backchannel-logout with the cookie store: 400, there is no session to end (Back-Channel Logout 1.0 2.8)', async () => {
    const answer = await call(`${stack.proxyUrl}${basePath}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'logout_token=not-a-jwt',
    });
    expectDocumented('POST', '/backchannel-logout', answer, 400);
  });

  it('502 when the API cannot be reached, for each method', async () => {
    const b = browser();
    await b.login();
    // Port 9 (discard) has no listener on 127.0.0.1: the connection is refused.
    stack.redeploy({ API_UPSTREAMS: JSON.stringify({ demo: 'http://127.0.0.1:9/api' }) });
    for (const method of API_METHODS) {
      expectDocumented(method, '/api/{name}/{proxy}', await b.request(`${basePath}/api/demo/me`, { method }), 502);
    }
  });

  it('405 with Allow when the upstream does not take the method (RFC 9110 15.5.6)', async () => {
    stack.redeploy({ API_UPSTREAMS: JSON.stringify({ demo: { url: stack.resourceServer.apiUrl, methods: ['PATCH'] } }) });
    for (const method of API_METHODS.filter((name) => name !== 'PATCH')) {
      expectDocumented(method, '/api/{name}/{proxy}', await browser().request(`${basePath}/api/demo/me`, { method }), 405);
    }
  });
});

/**
 * What the other switches change in bff mode: SECURITY_PROFILE=fapi2 (FAPI 2.0: private_key_jwt,
 * PS256, JARM, DPoP) and DPOP=true (RFC 9449: the proxy's own key per login) answer the same
 * documented shapes.
 */
describe.each<[string, Parameters<typeof startLocalStack>[0]]>([
  ['bff with DPOP=true', { mode: 'bff', dpop: true }],
  ['bff under SECURITY_PROFILE=fapi2', { mode: 'bff', profile: 'fapi2' }],
])('%s: the real answers match the documents', (_name, options) => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack(options);
  }, 30_000);
  afterAll(() => stack?.close());

  it('the main flow', () => (stack.mode === 'bff' ? bffSession(stack, '') : relayLogin(stack)));
});

describe('bff with SESSION_STORE=dynamodb: the real answers match bff.json', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ mode: 'bff', sessionStore: 'dynamodb' });
  }, 30_000);
  afterAll(() => stack?.close());

  it('the main flow, the session in the table', () => bffSession(stack, ''));

  it('POST /backchannel-logout: 200 for a valid logout token, 400 for a replayed one, 413 for a form over 16 KiB (Back-Channel Logout 1.0 2.8)', async () => {
    const form = logoutForm(await logoutToken(stack, { sub: 'grace.hopper' }));
    expect(requestProblems('bff', 'POST', '/backchannel-logout', Object.fromEntries(new URLSearchParams(form)), 'application/x-www-form-urlencoded')).toEqual([]);
    const answer = async (body: string) => {
      const response = await postLogoutToken(stack.proxyUrl, body);
      return { status: response.status, headers: response.headers, text: await response.text() };
    };
    expectAnswer('bff', 'POST', '/backchannel-logout', await answer(form), 200);
    expectAnswer('bff', 'POST', '/backchannel-logout', await answer(form), 400);
    expectAnswer('bff', 'POST', '/backchannel-logout', await answer(`logout_token=${'a'.repeat(17 * 1024)}`), 413);
  });
});

/**
 * Responses this file does not provoke, each with why. Any other documented response must have been
 * checked against a real answer, itself or (a shared response object) at another route.
 */
const NOT_PROVOKED: ReadonlyArray<readonly [RegExp, string]> = [
  [/^bff POST \/backchannel-logout 50[0234]$/, 'a table or JWKS outage: test/integration/bff-session-store.test.ts'],
  [/^bff HEAD \/api\/\{name\}\/\{proxy\} 50[0234]$/, 'HEAD has the inline, bodiless copies of GET\'s shared 5xx answers'],
  [/^bff PATCH \/api\/\{name\}\/\{proxy\} 405$/, 'the 405 run leaves PATCH as the one method allowed'],
];

describe('coverage of the documents by the real answers above', () => {
  it('every documented response was checked against a real answer, or its shared response object was, or it is in NOT_PROVOKED', () => {
    const unchecked = (['relay', 'bff'] as const).flatMap((mode) =>
      documentedResponses(mode).filter((response) => {
        if (EXERCISED.has(response)) return false;
        const [, method, path, status] = response.split(' ') as [Mode, string, string, string];
        const shared = sharedResponse(mode, method, path, status);
        return !(shared !== undefined && EXERCISED.has(shared)) && !NOT_PROVOKED.some(([pattern]) => pattern.test(response));
      }),
    );
    expect(unchecked).toEqual([]);
  });
});
