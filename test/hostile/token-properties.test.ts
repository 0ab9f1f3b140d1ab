import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaHandler, type ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { tokenAppFromEnv } from '../../functions/token/wiring.ts';
import { CLIENT_ID, CLIENT_SECRET, ORIGIN, REDIRECT_URI, startHarness, type Answer, type Harness } from '../helpers/harness.ts';
import {
  acceptableText,
  anyString,
  DANGEROUS_KEYS,
  expectNoPollution,
  expectRefusal,
  fcOptions,
  headerName,
  isMalformedHeaderValue,
  jsonHeaders,
  MAX_BODY_BYTES,
  nonString,
  normalizeHeaderValue,
  pollutingJson,
  PROPERTY_TIMEOUT_MS,
  prototypeSnapshot,
  recorded,
  send,
  smugglingValue,
  textWithFormatCharacters,
  textWithRefusedCharacter,
  type RawRequest,
} from '../helpers/hostile.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';

/**
 * POST /token under hostile input, property-based (fast-check, fixed seed: see
 * test/helpers/hostile.ts), through the real Lambda handler built from the environment
 * (tokenAppFromEnv: discovery, Secrets Manager through the real SDK) and the scripted
 * authorization server's token endpoint.
 *
 * Properties: a caller's mistake is never a 5xx, always a documented 4xx with exactly
 * {error, error_description} and no-store, and nothing reaches Secrets Manager or the authorization
 * server; a valid request is forwarded with exactly its own fields plus the client's authentication,
 * and the token response comes back as the authorization server sent it; no prototype pollution;
 * codes, verifiers and tokens never reach a log line or an error answer.
 */
const OTHER_REDIRECT_URI = 'http://localhost:8080/cb';
const MARK = randomBytes(6).toString('hex');
/** Every code, verifier and token in this file starts with one of these, so a leak of any is found. */
const CODE_MARK = `authz-code-${MARK}-`;
const VERIFIER_MARK = `verifier${MARK}`;
const REFRESH_MARK = `refresh-token-${MARK}-`;
const ACCESS_MARK = `access-token-${MARK}-`;
const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'.split('');
const bytes = (value: unknown) => Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value));
const statusFor = (body: string) => (bytes(body) > MAX_BODY_BYTES ? 413 : 400);

let harness: Harness;
let token: ApiGatewayHandler;
const leaks = createLeakCollector('keep');
const prototypes = prototypeSnapshot();
let stopWatching: () => void = () => {};
/** The last token response the authorization server sent. */
let issued: Record<string, unknown> = {};

beforeAll(async () => {
  harness = await startHarness();
  leaks.secret(CLIENT_SECRET, CODE_MARK, VERIFIER_MARK, REFRESH_MARK, ACCESS_MARK);
  harness.as.script('token', (call) => {
    issued = {
      access_token: `${ACCESS_MARK}${call}`,
      token_type: 'Bearer',
      expires_in: 3600,
      refresh_token: `${REFRESH_MARK}issued-${call}`,
      // Looks like a compact JWS, so that the leak check's JWS pattern would see it in a log line.
      id_token: `eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJ1c2VyLSR7Y2FsbH0ifQ.${randomBytes(32).toString('base64url')}`,
      scope: 'openid',
    };
    return { status: 200, body: issued };
  });
  token = lambdaHandler(tokenAppFromEnv({ ...harness.env, ALLOWED_REDIRECT_URIS: `${REDIRECT_URI},${OTHER_REDIRECT_URI}` }));
  const stop = leaks.watch();
  const warm = await post({ headers: jsonHeaders(), body: JSON.stringify(validCodeRequest()) }).finally(stop);
  expect(warm.status, warm.raw).toBe(200); // discovery and the secret are cached from here
});
afterAll(() => harness?.close());
beforeEach(() => {
  stopWatching = leaks.watch();
});
afterEach(() => stopWatching());

function validCodeRequest(): Record<string, unknown> {
  return { grant_type: 'authorization_code', code: `${CODE_MARK}x`, code_verifier: `${VERIFIER_MARK}${'v'.repeat(40)}`, redirect_uri: REDIRECT_URI };
}

async function post(request: RawRequest): Promise<Answer> {
  const answer = await send(token, { path: '/token', ...request });
  return recorded(leaks, answer, true);
}

async function refused(request: RawRequest, statuses: number | readonly number[], error = 'invalid_request'): Promise<Answer> {
  const before = harness.calls();
  const answer = await post(request);
  expectRefusal(answer, statuses, error);
  expect(harness.calls()).toEqual(before);
  return answer;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const verifier = fc
  .string({ unit: fc.constantFrom(...UNRESERVED), minLength: 43 - VERIFIER_MARK.length, maxLength: 128 - VERIFIER_MARK.length })
  .map((s) => `${VERIFIER_MARK}${s}`);

const codeRequests = fc.record({
  grant_type: fc.constant('authorization_code'),
  code: acceptableText(2048 - CODE_MARK.length).map((s) => `${CODE_MARK}${s}`),
  code_verifier: verifier,
  redirect_uri: fc.constantFrom(REDIRECT_URI, OTHER_REDIRECT_URI),
});

const refreshRequests = fc.record({
  grant_type: fc.constant('refresh_token'),
  refresh_token: acceptableText(4096 - REFRESH_MARK.length).map((s) => `${REFRESH_MARK}${s}`),
});

const validRequests: fc.Arbitrary<Record<string, unknown>> = fc
  .oneof(codeRequests, refreshRequests)
  .filter((request) => bytes(request) <= MAX_BODY_BYTES);

const with_ = (request: Record<string, unknown>, key: string, value: unknown) => ({ ...request, [key]: value });
const without = (request: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(request).filter(([k]) => k !== key));

const nearMiss = fc
  .tuple(fc.constantFrom(REDIRECT_URI, OTHER_REDIRECT_URI), fc.nat(), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }))
  .map(([uri, at, c]) => {
    const i = at % (uri.length + 1);
    return at % 3 === 0 ? uri.slice(0, i) + c + uri.slice(i) : at % 3 === 1 ? uri.slice(0, i) + uri.slice(i + 1) : uri.toUpperCase();
  })
  .filter((uri) => uri !== REDIRECT_URI && uri !== OTHER_REDIRECT_URI);

/** A valid token request with exactly one thing wrong. */
const invalidRequests: fc.Arbitrary<string> = validRequests.chain((request) => {
  const fields = Object.keys(request).filter((k) => k !== 'grant_type');
  const code = request.grant_type === 'authorization_code';
  return fc.oneof(
    fc
      .oneof(
        anyString(30).filter((g) => g !== 'authorization_code' && g !== 'refresh_token'),
        fc.constantFrom('password', 'client_credentials', 'implicit', 'AUTHORIZATION_CODE', 'authorization_code ', 'refresh_token\u0000', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:token-exchange', 'urn:ietf:params:oauth:grant-type:device_code'),
        nonString(),
      )
      .map((g) => JSON.stringify(with_(request, 'grant_type', g))),
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom('client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'scope', 'resource', 'audience', 'nonce', 'state', ...DANGEROUS_KEYS),
          fc.constantFrom(...(code ? ['refresh_token'] : ['code', 'code_verifier', 'redirect_uri'])),
          anyString(16).filter((k) => !Object.hasOwn(request, k)),
        ),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map(([k, v]) => JSON.stringify(with_(request, k, v))),
    fc.constantFrom(...Object.keys(request)).map((k) => JSON.stringify(without(request, k))),
    fc.tuple(fc.constantFrom(...fields), nonString()).map(([k, v]) => JSON.stringify(with_(request, k, v))),
    fc.tuple(fc.constantFrom(...fields), textWithRefusedCharacter()).map(([k, v]) => JSON.stringify(with_(request, k, v))),
    fc.constantFrom(...fields).map((k) => JSON.stringify(with_(request, k, ''))),
    fc
      .constantFrom(...fields)
      .map((k) => JSON.stringify(with_(request, k, 'x'.repeat(k === 'refresh_token' ? 4097 : k === 'code_verifier' ? 129 : 2049)))),
    ...(code
      ? [
          fc
            .oneof(
              fc.string({ unit: fc.constantFrom(...UNRESERVED), maxLength: 42 }),
              fc.string({ unit: fc.constantFrom(...UNRESERVED), minLength: 129, maxLength: 200 }),
              fc.tuple(verifier, fc.constantFrom('+', '/', '=', ' ', 'é', '%', '\u2028')).map(([v, c]) => `${v.slice(0, 60)}${c}`),
            )
            .map((v) => JSON.stringify(with_(request, 'code_verifier', v))),
          nearMiss.map((v) => JSON.stringify(with_(request, 'redirect_uri', v))),
        ]
      : []),
  );
});

// ---------------------------------------------------------------------------------------------

describe('POST /token: a valid request is forwarded exactly, and the answer passed on as is', () => {
  it(
    'authorization_code (any code, any RFC 7636 verifier, an allowed redirect_uri) or refresh_token: 200, the token response unchanged',
    async () => {
      await fc.assert(
        fc.asyncProperty(validRequests, async (request) => {
          const before = harness.calls();
          const seen = harness.as.requests.length;
          const answer = await post({ headers: jsonHeaders(), body: JSON.stringify(request) });
          expect(answer.status, answer.raw).toBe(200);
          expect(answer.body).toEqual(issued);
          expect(answer.headers['cache-control']).toBe('no-store');
          expect(answer.headers.pragma).toBe('no-cache');
          expect(answer.headers['access-control-allow-origin']).toBe(ORIGIN);
          const after = harness.calls();
          expect([after.kms - before.kms, after.secretsManager - before.secretsManager, after.as - before.as]).toEqual([0, 0, 1]);
          const form = harness.as.requests[seen]!;
          expect(form.endpoint).toBe('token');
          expect(Object.fromEntries(form.form)).toEqual({ ...request, client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
        }),
        fcOptions(250),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});

describe('POST /token: other text is forwarded as sent (issue 10, part 4)', () => {
  it('a code or refresh token with format characters (ZWJ, ZWNJ, soft hyphen, BOM): 200, forwarded exactly', async () => {
    await fc.assert(
      fc.asyncProperty(textWithFormatCharacters(100), fc.boolean(), async (text, refresh) => {
        const request = refresh
          ? { grant_type: 'refresh_token', refresh_token: `${REFRESH_MARK}${text}` }
          : { ...validCodeRequest(), code: `${CODE_MARK}${text}` };
        const seen = harness.as.requests.length;
        const answer = await post({ headers: jsonHeaders(), body: JSON.stringify(request) });
        expect(answer.status, answer.raw).toBe(200);
        expect(Object.fromEntries(harness.as.requests[seen]!.form)).toEqual({ ...request, client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
      }),
      fcOptions(100),
    );
  });
});

describe('POST /token: duplicate keys', () => {
  it('the last value is the one validated and the one forwarded (JSON.parse semantics)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('code', 'code_verifier', 'redirect_uri'), fc.jsonValue({ maxDepth: 1 }), async (field, first) => {
        const valid = validCodeRequest();
        const last = field === 'redirect_uri' ? OTHER_REDIRECT_URI : field === 'code' ? `${CODE_MARK}last` : `${VERIFIER_MARK}${'l'.repeat(40)}`;
        const base = JSON.stringify(valid).slice(1, -1);
        const seen = harness.as.requests.length;
        const answer = await post({ headers: jsonHeaders(), body: `{${JSON.stringify(field)}:${JSON.stringify(first)},${base},${JSON.stringify(field)}:${JSON.stringify(last)}}` });
        expect(answer.status, answer.raw).toBe(200);
        expect(harness.as.requests[seen]!.form.get(field)).toBe(last);
        await refused({ headers: jsonHeaders(), body: `{${base},${JSON.stringify(field)}:${JSON.stringify(field === 'redirect_uri' ? 'https://evil.example/cb' : 1)}}` }, 400);
      }),
      fcOptions(25),
    );
  });
});

describe('POST /token: hostile bodies are refused before any upstream call', () => {
  it(
    'any JSON value, and objects of token-ish, dangerous and random keys: 400 (413 over 8 KiB)',
    async () => {
      const keys = fc.oneof(
        fc.constantFrom('grant_type', 'code', 'code_verifier', 'redirect_uri', 'refresh_token', 'client_id', 'client_secret', ...DANGEROUS_KEYS),
        anyString(16),
      );
      const values = fc.oneof(
        fc.jsonValue({ maxDepth: 6 }),
        fc.dictionary(keys, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
        // grant_type right, the rest anything.
        fc.tuple(fc.constantFrom('authorization_code', 'refresh_token'), fc.dictionary(keys, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 })).map(([g, rest]) => ({ ...rest, grant_type: g })),
      );
      await fc.assert(
        fc.asyncProperty(values, async (value) => {
          const body = JSON.stringify(value);
          await refused({ headers: jsonHeaders(), body }, statusFor(body));
        }),
        fcOptions(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'a valid request with exactly one thing wrong: 400 (413 over 8 KiB)',
    async () => {
      await fc.assert(
        fc.asyncProperty(invalidRequests, async (body) => {
          await refused({ headers: jsonHeaders(), body }, statusFor(body));
        }),
        fcOptions(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'issue 10, part 4: a C0 or C1 control, a bidi control, U+2028/U+2029 or a lone surrogate in any field: 400 naming it, nothing upstream',
    async () => {
      const cases = fc.tuple(validRequests, textWithRefusedCharacter(), fc.nat()).map(([request, bad, at]) => {
        const fields = Object.keys(request).filter((k) => k !== 'grant_type');
        const field = fields[at % fields.length]!;
        // Between code points, so that no surrogate pair of the value is split.
        const points = Array.from(String(request[field]));
        const i = at % (points.length + 1);
        return { field, body: JSON.stringify(with_(request, field, [...points.slice(0, i), bad, ...points.slice(i)].join(''))) };
      });
      await fc.assert(
        fc.asyncProperty(cases, async ({ field, body }) => {
          const answer = await refused({ headers: jsonHeaders(), body }, statusFor(body));
          if (answer.status === 400) {
            expect(answer.body.error_description).toMatch(
              new RegExp(`^${field} (must not contain control, bidirectional or line separator characters|must be well-formed Unicode)$`),
            );
          }
        }),
        fcOptions(200),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('non-JSON, as text or base64, and its base64 twin answers the same', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyString(300), fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1'))), async (body) => {
        const size = Buffer.byteLength(body);
        const raw = await refused({ headers: jsonHeaders(), body }, size > MAX_BODY_BYTES ? 413 : 400);
        const encoded = await refused({ headers: jsonHeaders(), body: Buffer.from(body).toString('base64'), isBase64Encoded: true }, raw.status);
        expect(encoded.body).toEqual(raw.body);
      }),
      fcOptions(200),
    );
  });

  it('over 8 KiB: 413, whatever the body and Content-Length say', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: MAX_BODY_BYTES + 1, max: 128 * 1024 }), fc.boolean(), fc.constantFrom(undefined, '1', '8192'), async (size, base64, declared) => {
        const body = JSON.stringify({ ...validCodeRequest(), code: `${CODE_MARK}${'c'.repeat(size)}` });
        await refused(
          { headers: jsonHeaders(declared === undefined ? {} : { 'content-length': declared }), body: base64 ? Buffer.from(body).toString('base64') : body, isBase64Encoded: base64 },
          413,
        );
      }),
      fcOptions(30),
    );
  });

  it('the redirect_uri allow-list holds against near misses (RFC 6749 4.1.3, exact match)', async () => {
    for (const uri of [
      `${REDIRECT_URI}/`, 'https://APP.example.com/callback', 'https://app.example.com/Callback', 'https://app.example.com:443/callback',
      'https://user@app.example.com/callback', 'https://app.example.com@evil.example/callback', 'https://app.example.com/%63allback',
      'https://app.example.com/x/../callback', 'http://app.example.com/callback', 'https://evil.app.example.com/callback',
      'https://app.example.com.evil.example/callback', `${REDIRECT_URI}?x=1`, `${REDIRECT_URI}#x`, `${REDIRECT_URI} `,
    ]) {
      const answer = await refused({ headers: jsonHeaders(), body: JSON.stringify({ ...validCodeRequest(), redirect_uri: uri }) }, 400);
      expect(answer.body.error_description).toBe('redirect_uri is not an allowed redirect URI');
    }
  });
});

describe('POST /token: headers', () => {
  it('a valid request is accepted if and only if its media type is application/json; otherwise 415 (400 if malformed)', async () => {
    const expected = (value: string | undefined): 'accepted' | 400 | 415 => {
      if (value === undefined || value === '') return 415;
      if (isMalformedHeaderValue(value)) return 400;
      if (/[^\x00-\x7f]/.test(value)) return 415;
      return normalizeHeaderValue(value).split(';')[0]!.trim().toLowerCase() === 'application/json' ? 'accepted' : 415;
    };
    const contentTypes = fc.oneof(
      fc.constantFrom(undefined, '', 'application/json', 'Application/JSON; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', 'application/jsonp', 'multipart/form-data', 'application/json\r\n'),
      fc.tuple(fc.mixedCase(fc.constant('application/json')), fc.constantFrom('', ';', ',x', '+x')).map(([a, b]) => a + b),
      anyString(30),
    );
    await fc.assert(
      fc.asyncProperty(contentTypes, async (contentType) => {
        const headers: Record<string, string> = { origin: ORIGIN };
        if (contentType !== undefined) headers['content-type'] = contentType;
        const outcome = expected(contentType);
        const before = harness.calls();
        const answer = await post({ headers, body: JSON.stringify(validCodeRequest()) });
        if (outcome === 'accepted') expect(answer.status, answer.raw).toBe(200);
        else {
          expectRefusal(answer, outcome);
          expect(harness.calls()).toEqual(before);
        }
      }),
      fcOptions(200),
    );
  });

  it('CR, LF, NUL or non-Latin-1 in any header: 400, no CORS headers, nothing upstream', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(headerName(), smugglingValue()).map(([name, value]) => ({ [name]: value })),
          smugglingValue().map((value) => ({ origin: `${ORIGIN}${value}` })),
        ),
        async (extra) => {
          const answer = await refused({ headers: { ...jsonHeaders(), ...extra }, body: JSON.stringify(validCodeRequest()) }, 400);
          expect(answer.body.error_description).toBe('the request headers are malformed');
          expect(answer.headers['access-control-allow-origin']).toBeUndefined();
        },
      ),
      fcOptions(150),
    );
  });

  it('only the exact allowed Origin gets CORS headers; any other is 403 access_denied', async () => {
    const origins = fc.oneof(
      fc.constant(ORIGIN),
      fc.constantFrom(`${ORIGIN}/`, 'https://APP.example.com', 'https://app.example.com:443', 'http://app.example.com', 'https://evil.app.example.com', 'null', 'https://app.example.com.evil.example'),
      fc.webUrl().map((u) => new URL(u).origin),
      anyString(30),
    );
    await fc.assert(
      fc.asyncProperty(origins, async (origin) => {
        const before = harness.calls();
        const answer = await post({ headers: { 'content-type': 'application/json', origin }, body: JSON.stringify(validCodeRequest()) });
        if (origin === '') expect(answer.status).toBe(200);
        else if (isMalformedHeaderValue(origin)) expectRefusal(answer, 400);
        else if (/[^\x00-\x7f]/.test(origin) || normalizeHeaderValue(origin) !== ORIGIN) {
          expectRefusal(answer, 403, 'access_denied');
          expect(answer.headers['access-control-allow-origin']).toBeUndefined();
          expect(harness.calls()).toEqual(before);
        } else {
          expect(answer.status).toBe(200);
          expect(answer.headers['access-control-allow-origin']).toBe(ORIGIN);
        }
      }),
      fcOptions(150),
    );
  });
});

describe('POST /token: no prototype pollution', () => {
  it('__proto__, constructor.prototype and prototype payloads are refused and pollute nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(pollutingJson(validCodeRequest()), pollutingJson({ grant_type: 'refresh_token', refresh_token: `${REFRESH_MARK}r` }), pollutingJson({})), async (body) => {
        await refused({ headers: jsonHeaders(), body }, 400);
        expectNoPollution(prototypes);
      }),
      fcOptions(60),
    );
    expectNoPollution(prototypes);
  });
});

describe('POST /token: nothing leaks', () => {
  it('no leaks: no client secret, code, verifier, token or stack trace in anything this file logged or answered (200 bodies carry tokens by design and are left out)', () => {
    const report = leaks.report();
    expect(report.answers).toBeGreaterThan(1500);
    expect(report.requestLogLines).toBeGreaterThan(1500);
    expect(report.findings).toEqual([]);
  });
});
