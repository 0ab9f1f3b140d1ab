import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { captureOutput, type CapturedOutput } from '../helpers/output.ts';
import { CLIENT_SECRET, invoke, ORIGIN, startHarness, validIntent, type Harness } from '../helpers/harness.ts';

/** What a caller sends to POST /par, and what it gets back: the issue's contract, status by status. */
let harness: Harness;
let par: ApiGatewayHandler;
let output: CapturedOutput;

beforeAll(async () => {
  harness = await startHarness();
  par = harness.coldPar();
  expect((await invoke(par, { body: validIntent() })).status).toBe(201); // warm: secret, discovery, kid cached
});
afterAll(() => harness.close());
beforeEach(() => {
  output = captureOutput();
  return () => output.restore();
});

const PAR_ANSWER_FIELDS = ['authorization_response_iss_parameter_supported', 'authorization_url', 'expires_in', 'issuer', 'request_uri'];

/** The scripted server's discovery document, advertising iss in authorization responses (RFC 9207 3). */
function advertisingIss() {
  const issuer = harness.as.issuer;
  return {
    issuer,
    authorization_endpoint: `${issuer}authorize`,
    pushed_authorization_request_endpoint: `${issuer}oauth/par`,
    token_endpoint: `${issuer}oauth/token`,
    authorization_response_iss_parameter_supported: true,
  };
}

/** Bad input is answered without any upstream call. */
async function refused(options: Parameters<typeof invoke>[1]) {
  const before = harness.calls();
  const answer = await invoke(par, options);
  expect(harness.calls()).toEqual(before);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(Object.keys(answer.body).sort()).toEqual(['error', 'error_description']);
  return answer;
}

describe('POST /par: success', () => {
  it('answers 201 with request_uri, expires_in and authorization_url, no-store, two remote calls', async () => {
    const before = harness.calls();
    const answer = await invoke(par, { body: validIntent() });
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.body).sort()).toEqual(PAR_ANSWER_FIELDS);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(answer.headers.vary).toBe('Origin');
    const url = new URL(answer.body.authorization_url as string);
    expect(url.href.startsWith(`${harness.as.issuer}authorize?`)).toBe(true);
    expect(url.searchParams.get('request_uri')).toBe(answer.body.request_uri);
    // Warm: exactly KMS Sign and the PAR push.
    const after = harness.calls();
    expect(after.kms - before.kms).toBe(1);
    expect(after.as - before.as).toBe(1);
    expect(after.secretsManager - before.secretsManager).toBe(0);
  });

  it('names ISSUER exactly as issuer, and promises no iss when the discovery document does not (RFC 9207 2.4, 3)', async () => {
    const answer = await invoke(par, { body: validIntent() });
    // The SPA compares iss with it as a simple string: the trailing slash stays.
    expect(answer.body.issuer).toBe(harness.env.ISSUER);
    expect(harness.env.ISSUER).toMatch(/\/$/);
    expect(answer.body.authorization_response_iss_parameter_supported).toBe(false);
  });

  it('passes on authorization_response_iss_parameter_supported from the discovery document, with no further call (RFC 9207 3)', async () => {
    harness.as.script('discovery', () => ({ status: 200, body: advertisingIss() }));
    try {
      const cold = harness.coldPar();
      const first = await invoke(cold, { body: validIntent() });
      const discoveries = harness.as.count('discovery');
      const second = await invoke(cold, { body: validIntent() });
      expect([first.body.authorization_response_iss_parameter_supported, second.body.authorization_response_iss_parameter_supported]).toEqual([true, true]);
      expect(harness.as.count('discovery')).toBe(discoveries);
    } finally {
      harness.as.script('discovery', undefined);
    }
  });

  it('with both endpoints configured, reads no discovery document and promises no iss (RFC 9207 3)', async () => {
    harness.as.script('discovery', () => ({ status: 200, body: advertisingIss() }));
    try {
      const discoveries = harness.as.count('discovery');
      const configured = harness.coldPar({
        PAR_ENDPOINT: advertisingIss().pushed_authorization_request_endpoint,
        AUTHORIZATION_ENDPOINT: advertisingIss().authorization_endpoint,
      });
      const answer = await invoke(configured, { body: validIntent() });
      expect(answer.status).toBe(201);
      expect(answer.body).toMatchObject({ issuer: harness.env.ISSUER, authorization_response_iss_parameter_supported: false });
      expect(harness.as.count('discovery')).toBe(discoveries);
    } finally {
      harness.as.script('discovery', undefined);
    }
  });

  it('pushes only client_id, request and client_secret, form-encoded (RFC 9126 2.1, seed: client_secret_post)', async () => {
    harness.as.reset();
    await invoke(par, { body: validIntent() });
    const [push] = harness.as.requests;
    expect(push?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect([...push!.form.keys()].sort()).toEqual(['client_id', 'client_secret', 'request']);
    expect(push!.form.get('client_secret')).toBe(CLIENT_SECRET);
  });

  it('accepts a body that API Gateway base64-encoded, and a charset parameter', async () => {
    const answer = await invoke(par, {
      body: validIntent(),
      base64: true,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(answer.status).toBe(201);
  });

  it('accepts a request without Origin (non-browser callers), with no CORS headers', async () => {
    const answer = await invoke(par, { body: validIntent(), headers: { origin: '' } });
    expect(answer.status).toBe(201);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers an OPTIONS preflight from an allowed Origin', async () => {
    const answer = await invoke(par, { method: 'OPTIONS', headers: { 'access-control-request-method': 'POST' } });
    expect(answer.status).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(answer.headers['access-control-allow-methods']).toBe('POST');
    expect(answer.headers['access-control-allow-headers']).toBe('content-type');
  });
});

describe('POST /par: refusals', () => {
  it('400 invalid_request for a bad intent, naming the field', async () => {
    const answer = await refused({ body: { ...validIntent(), iss: 'evil' } });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'invalid_request', error_description: 'iss is set by the proxy and must not be sent' });
  });

  it.each([
    ['invalid JSON', '{"redirect_uri":'],
    ['empty body', ''],
    ['a JSON array', '[]'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1')],
  ])('400 invalid_request for %s', async (_name, body) => {
    const answer = await refused({ body });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
  });

  it('403 access_denied and no CORS headers for a disallowed Origin, preflight included', async () => {
    for (const method of ['POST', 'OPTIONS']) {
      const answer = await refused({ method, body: validIntent(), headers: { origin: 'https://evil.example.com' } });
      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('access_denied');
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('413 invalid_request for a body over 8 KiB, measured after base64 decoding', async () => {
    const big = { ...validIntent(), login_hint: 'x'.repeat(9000) };
    expect((await refused({ body: big })).status).toBe(413);
    expect((await refused({ body: big, base64: true })).status).toBe(413);
    // 6 KiB of JSON is 8 KiB of base64: the limit applies to the decoded body.
    const fits = { ...validIntent(), login_hint: 'x'.repeat(2000), ui_locales: 'y'.repeat(200) };
    expect((await invoke(par, { body: fits, base64: true })).status).toBe(201);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', ''])(
    '415 invalid_request for content type %j',
    async (type) => {
      const answer = await refused({ body: validIntent(), headers: { 'content-type': type } });
      expect(answer.status).toBe(415);
      expect(answer.body.error).toBe('invalid_request');
    },
  );

  it('404 for other routes and 404 for other methods on /par', async () => {
    expect((await refused({ path: '/other', body: validIntent() })).status).toBe(404);
    expect((await refused({ method: 'GET' })).status).toBe(404);
  });

  it('400 for a header value with CR/LF that cannot become a request', async () => {
    const answer = await refused({ body: validIntent(), headers: { 'x-smuggle': 'a\r\nx-injected: 1' } });
    expect(answer.status).toBe(400);
  });

  it('logs each refusal with its reason and no body content', async () => {
    await refused({ body: { ...validIntent(), client_secret: 'leaked-secret-value' } });
    const line = output.lines().find((l) => l.message === 'request');
    expect(line).toMatchObject({ status: 400, error: 'invalid_request', route: '/par' });
    expect(output.text()).not.toContain('leaked-secret-value');
    expect(output.text()).toContain('"Refused":1');
  });
});
