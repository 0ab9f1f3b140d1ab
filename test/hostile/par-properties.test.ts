import fc from 'fast-check';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { INTENT_FIELDS } from '../../functions/core/intent.ts';
import { CODE_CHALLENGE } from '../helpers/events.ts';
import { CLIENT_ID, CLIENT_SECRET, ORIGIN, REDIRECT_URI, startHarness, validIntent, type Answer, type Harness } from '../helpers/harness.ts';
import {
  acceptableText,
  anyString,
  CALLER_ERROR_STATUSES,
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
 * POST /par under hostile input, property-based (fast-check, fixed seed: see test/helpers/hostile.ts
 * to reproduce or explore), through the real Lambda handler, the real AWS SDK against the wire-level
 * KMS and Secrets Manager stand-ins, and the scripted authorization server.
 *
 * Properties: a caller's mistake is never a 5xx, always a documented 4xx with exactly
 * {error, error_description} and Cache-Control: no-store, and nothing reaches KMS, Secrets Manager or
 * the authorization server; no prototype is polluted; a valid intent with any subset of optional
 * fields becomes a request object whose claims are exactly the proxy's plus those fields.
 */
const OTHER_REDIRECT_URI = 'http://localhost:8080/cb';
const DETAIL_TYPES = ['payment_initiation', 'account_information'];
const PROXY_OWNED = ['iss', 'aud', 'sub', 'client_id', 'exp', 'iat', 'nbf', 'jti', 'request', 'request_uri', 'client_secret', 'client_assertion', 'client_assertion_type'];
const PROXY_CLAIMS = ['iss', 'aud', 'client_id', 'response_type', 'iat', 'nbf', 'exp', 'jti'];
const REQUIRED = ['redirect_uri', 'code_challenge', 'code_challenge_method', 'state'];
/** Text fields and their limits (functions/core/intent.ts). */
const TEXT_LIMITS: Record<string, number> = {
  redirect_uri: 2048, state: 2048, scope: 2048, nonce: 2048, audience: 2048, login_hint: 2048, acr_values: 2048,
  prompt: 256, ui_locales: 256, organization: 256, invitation: 256, connection: 256, screen_hint: 64,
};
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('');
/** OpenID Connect Core 3.1.2.1 and Initiating User Registration; `none` is refused by default (ALLOW_PROMPT_NONE). */
const PROMPTS = ['login', 'consent', 'select_account', 'create'];
const RESPONSE_MODES = ['query', 'form_post', 'jwt', 'query.jwt', 'form_post.jwt'];
const MAX_AGE_LIMIT = 2 ** 31 - 1;
/** The fields whose strings the login page may show, free text. */
const FREE_TEXT = ['state', 'scope', 'nonce', 'audience', 'login_hint', 'organization', 'invitation', 'screen_hint', 'connection'];
const bytes = (value: unknown) => Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value));

let harness: Harness;
let par: ApiGatewayHandler;
const leaks = createLeakCollector('keep');
const prototypes = prototypeSnapshot();
const jtis = new Set<string>();
let stopWatching: () => void = () => {};

beforeAll(async () => {
  harness = await startHarness();
  leaks.secret(CLIENT_SECRET);
  par = harness.coldPar({
    ALLOWED_REDIRECT_URIS: `${REDIRECT_URI},${OTHER_REDIRECT_URI}`,
    ALLOWED_AUTHORIZATION_DETAILS_TYPES: DETAIL_TYPES.join(','),
  });
  const stop = leaks.watch();
  const warm = await post({ headers: jsonHeaders(), body: JSON.stringify(validIntent()) }).finally(stop);
  expect(warm.status).toBe(201); // the secret, the discovery document and the kid are cached from here
});
afterAll(() => harness?.close());
beforeEach(() => {
  stopWatching = leaks.watch();
});
afterEach(() => stopWatching());

async function post(request: RawRequest): Promise<Answer> {
  return recorded(leaks, await send(par, { path: '/par', ...request }));
}

/** A refusal, with no upstream call at all. */
async function refused(request: RawRequest, statuses: number | readonly number[], error = 'invalid_request'): Promise<Answer> {
  const before = harness.calls();
  const answer = await post(request);
  expectRefusal(answer, statuses, error);
  expect(harness.calls()).toEqual(before);
  return answer;
}

const statusFor = (body: string) => (bytes(body) > MAX_BODY_BYTES ? 413 : 400);

// ---------------------------------------------------------------------------------------------
// Arbitraries

const detail = fc
  .tuple(
    fc.constantFrom(...DETAIL_TYPES),
    fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== 'type' && !['__proto__', 'constructor', 'prototype'].includes(k)),
      fc.jsonValue({ maxDepth: 3 }),
      { maxKeys: 4 },
    ),
  )
  .map(([type, extra]) => ({ ...extra, type }));

/** Space-separated values: tokens without whitespace (JavaScript's \s, Unicode spaces included). */
const spaceSeparated = (max: number) =>
  fc
    .array(acceptableText(64, 12).map((t) => t.replace(/\s/g, '_')), { minLength: 1, maxLength: 6 })
    .map((tokens) => tokens.join(' '))
    .filter((s) => s.length <= max);

const prompts = fc.shuffledSubarray(PROMPTS, { minLength: 1 }).map((values) => values.join(' '));

const OPTIONAL = {
  response_type: fc.constant('code'),
  scope: acceptableText(2048),
  nonce: acceptableText(2048),
  audience: acceptableText(2048),
  prompt: prompts,
  login_hint: acceptableText(2048),
  ui_locales: spaceSeparated(256),
  acr_values: spaceSeparated(2048),
  organization: acceptableText(256),
  invitation: acceptableText(256),
  screen_hint: acceptableText(64),
  connection: acceptableText(256),
  response_mode: fc.constantFrom(...RESPONSE_MODES),
  dpop_jkt: fc.string({ unit: fc.constantFrom(...B64URL), minLength: 43, maxLength: 43 }),
  max_age: fc.oneof(fc.integer({ min: 0, max: MAX_AGE_LIMIT }), fc.constantFrom(0, MAX_AGE_LIMIT)),
  authorization_details: fc
    .array(detail, { minLength: 1, maxLength: 16 })
    .filter((details) => bytes(details) <= 4096),
};

const hasOpenid = (scope: unknown) => typeof scope === 'string' && scope.split(' ').includes('openid');
/** OpenID Connect Core 3.1.2.1: max_age only with openid in scope. */
const withOpenidForMaxAge = (intent: Record<string, unknown>) =>
  intent.max_age === undefined || hasOpenid(intent.scope)
    ? intent
    : { ...intent, scope: typeof intent.scope === 'string' && intent.scope.length < 2040 ? `openid ${intent.scope}` : 'openid' };

/** A valid intent: the required fields and any subset of the optional ones, each within its limits. */
const validIntents = fc
  .record(
    {
      redirect_uri: fc.constantFrom(REDIRECT_URI, OTHER_REDIRECT_URI),
      code_challenge: fc.string({ unit: fc.constantFrom(...B64URL), minLength: 43, maxLength: 128 }),
      code_challenge_method: fc.constant('S256'),
      state: acceptableText(2048),
      ...OPTIONAL,
    },
    { requiredKeys: ['redirect_uri', 'code_challenge', 'code_challenge_method', 'state'] },
  )
  .map(withOpenidForMaxAge)
  .filter((intent) => bytes(intent) <= MAX_BODY_BYTES) as fc.Arbitrary<Record<string, unknown>>;

/** One-character edits of an allowed value that are not themselves allowed. */
const nearMissOf = (allowed: readonly string[]) =>
  fc
    .tuple(fc.constantFrom(...allowed), fc.nat(), fc.constantFrom('insert', 'delete', 'replace', 'upper', 'lower'), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }))
    .map(([value, at, edit, c]) => {
      const i = at % (value.length + 1);
      switch (edit) {
        case 'insert':
          return value.slice(0, i) + c + value.slice(i);
        case 'delete':
          return value.slice(0, i) + value.slice(i + 1);
        case 'replace':
          return value.slice(0, i) + c + value.slice(i + 1);
        case 'upper':
          return value.slice(0, i) + value.slice(i, i + 3).toUpperCase() + value.slice(i + 3);
        default:
          return value.toLowerCase() + c.toLowerCase();
      }
    })
    .filter((value) => !allowed.includes(value));

const with_ = (intent: Record<string, unknown>, key: string, value: unknown) => ({ ...intent, [key]: value });
const without = (intent: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(intent).filter(([k]) => k !== key));

/** A valid intent with exactly one thing wrong, and a name for the report. */
const invalidIntents: fc.Arbitrary<[string, string]> = validIntents.chain((intent) =>
  fc.oneof(
    fc.tuple(fc.constantFrom(...PROXY_OWNED), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => [`proxy-owned ${k}`, JSON.stringify(with_(intent, k, v))] as [string, string]),
    fc
      .tuple(anyString(24).filter((k) => !(INTENT_FIELDS as readonly string[]).includes(k)), fc.jsonValue({ maxDepth: 2 }))
      .map(([k, v]) => ['unknown field', JSON.stringify(with_(intent, k, v))] as [string, string]),
    fc.tuple(fc.constantFrom(...DANGEROUS_KEYS), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => [`key ${k}`, JSON.stringify(with_(intent, k, v))] as [string, string]),
    fc
      .tuple(fc.constantFrom(...Object.keys(TEXT_LIMITS), 'code_challenge', 'code_challenge_method', 'response_type', 'response_mode', 'dpop_jkt'), nonString())
      .map(([k, v]) => [`${k} not a string`, JSON.stringify(with_(intent, k, v))] as [string, string]),
    fc.tuple(fc.constantFrom(...Object.keys(TEXT_LIMITS)), textWithRefusedCharacter()).map(([k, v]) => [`${k} with a refused character`, JSON.stringify(with_(intent, k, v))] as [string, string]),
    textWithRefusedCharacter()
      .chain((v) => fc.constantFrom<unknown>([{ type: 'payment_initiation', x: v }], [{ type: 'payment_initiation', x: { y: [1, v] } }], [{ type: 'payment_initiation', [v]: 1 }]))
      .map((v) => ['authorization_details with a refused character', JSON.stringify(with_(intent, 'authorization_details', v))] as [string, string]),
    // Issue 10, part 1: what the authorization server would refuse, refused before KMS signs it.
    fc
      .oneof(
        fc.constantFrom('bogus', 'none', 'Login', 'login,consent', ' login', 'login ', 'login  consent', 'login\u00a0consent', 'none none', 'select-account', 'signup'),
        prompts.map((p) => `${p} ${p.split(' ')[0]}`),
        prompts.chain((p) => fc.constantFrom(`none ${p}`, `${p} none`)),
        anyString(12).filter((p) => !p.split(' ').every((v) => PROMPTS.includes(v))),
      )
      .map((v) => ['prompt invalid', JSON.stringify(with_(intent, 'prompt', v))] as [string, string]),
    fc.integer({ min: MAX_AGE_LIMIT + 1, max: Number.MAX_SAFE_INTEGER }).map((v) => ['max_age above 2^31 - 1', JSON.stringify(with_(with_(intent, 'scope', 'openid'), 'max_age', v))] as [string, string]),
    fc
      .oneof(fc.constant(undefined), fc.constantFrom('profile', 'openidx', 'OPENID', 'openid\u00a0profile', 'email,openid'))
      .map((scope) => ['max_age without openid', JSON.stringify(with_(scope === undefined ? without(intent, 'scope') : with_(intent, 'scope', scope), 'max_age', 60))] as [string, string]),
    fc
      .tuple(fc.constantFrom('ui_locales', 'acr_values'), spaceSeparated(200), fc.constantFrom(' ', '  ', '\u00a0', '\u3000', '\ufeff', '\u2003'), fc.constantFrom('start', 'end', 'middle'))
      .map(([k, v, space, where]) => {
        const bad = where === 'start' ? `${space}${v}` : where === 'end' ? `${v}${space}` : `${v}${space}${v}`;
        return [`${k} not space-separated`, JSON.stringify(with_(intent, k, space === ' ' && where === 'middle' ? `${v}  ${v}` : bad))] as [string, string];
      }),
    fc.constantFrom(...Object.keys(TEXT_LIMITS)).map((k) => [`${k} empty`, JSON.stringify(with_(intent, k, ''))] as [string, string]),
    fc.constantFrom(...Object.keys(TEXT_LIMITS)).map((k) => [`${k} too long`, JSON.stringify(with_(intent, k, 'x'.repeat(TEXT_LIMITS[k]! + 1)))] as [string, string]),
    fc.constantFrom(...REQUIRED).map((k) => [`${k} missing`, JSON.stringify(without(intent, k))] as [string, string]),
    fc
      .oneof(
        fc.string({ unit: fc.constantFrom(...B64URL), minLength: 0, maxLength: 42 }),
        fc.string({ unit: fc.constantFrom(...B64URL), minLength: 129, maxLength: 300 }),
        fc.tuple(fc.constant(CODE_CHALLENGE), fc.constantFrom('=', '+', '/', '.', '~', ' ', 'é')).map(([c, x]) => c + x),
      )
      .map((v) => ['code_challenge malformed', JSON.stringify(with_(intent, 'code_challenge', v))] as [string, string]),
    fc.constantFrom('plain', 's256', 'S256 ', ' S256', 'S384', 'RS256', 'none', '').map((v) => ['code_challenge_method not S256', JSON.stringify(with_(intent, 'code_challenge_method', v))] as [string, string]),
    fc.constantFrom('token', 'id_token', 'code id_token', 'CODE', 'code ', 'none', '').map((v) => ['response_type not code', JSON.stringify(with_(intent, 'response_type', v))] as [string, string]),
    fc
      .oneof(fc.integer({ max: -1 }), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isSafeInteger(d)), fc.constantFrom('60', 2 ** 53, 1e21, true))
      .map((v) => ['max_age invalid', JSON.stringify(with_(intent, 'max_age', v))] as [string, string]),
    fc
      .oneof(fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 42 }), fc.string({ unit: fc.constantFrom(...B64URL), minLength: 44, maxLength: 60 }), fc.constant(`${'A'.repeat(42)}=`))
      .map((v) => ['dpop_jkt malformed', JSON.stringify(with_(intent, 'dpop_jkt', v))] as [string, string]),
    fc
      .oneof(
        fc.constantFrom('fragment', 'web_message', 'fragment.jwt', 'query.JWT', 'Query', 'form post', 'form_post ', 'fragment#', 'query;x', 'query\u00e9'),
        anyString(16).filter((v) => !RESPONSE_MODES.includes(v)),
      )
      .map((v) => ['response_mode invalid', JSON.stringify(with_(intent, 'response_mode', v))] as [string, string]),
    fc
      .constantFrom<unknown>(
        [],
        {},
        'payment_initiation',
        [{}],
        [{ type: '' }],
        [{ type: 1 }],
        [{ type: 'not_allowed' }],
        [{ type: 'PAYMENT_INITIATION' }],
        ['payment_initiation'],
        [null],
        Array.from({ length: 17 }, () => ({ type: 'payment_initiation' })),
        [{ type: 'payment_initiation', big: 'x'.repeat(4100) }],
      )
      .map((v) => ['authorization_details invalid', JSON.stringify(with_(intent, 'authorization_details', v))] as [string, string]),
    nearMissOf([REDIRECT_URI, OTHER_REDIRECT_URI]).map((v) => ['redirect_uri near miss', JSON.stringify(with_(intent, 'redirect_uri', v))] as [string, string]),
  ),
);

// ---------------------------------------------------------------------------------------------

describe('POST /par: a valid intent becomes exactly its request object', () => {
  it('the generator covers every intent field (extend it when the intent grows)', () => {
    expect([...REQUIRED, ...Object.keys(OPTIONAL)].sort()).toEqual([...INTENT_FIELDS].sort());
  });

  it(
    'any subset of optional fields: 201, and the signed claims are exactly the proxy-owned ones plus those fields, with their values',
    async () => {
      const publicKey = harness.kms.publicKeyOf('alias/par');
      await fc.assert(
        fc.asyncProperty(validIntents, async (intent) => {
          const before = harness.calls();
          const pushedBefore = harness.as.requests.length;
          const sentAt = Math.floor(Date.now() / 1000);
          const answer = await post({ headers: jsonHeaders(), body: JSON.stringify(intent) });
          expect(answer.status, answer.raw).toBe(201);
          expect(Object.keys(answer.body).sort()).toEqual(['authorization_response_iss_parameter_supported', 'authorization_url', 'expires_in', 'issuer', 'request_uri']);
          expect(answer.headers['cache-control']).toBe('no-store');
          expect([...new URL(answer.body.authorization_url as string).searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
          // Warm: exactly one KMS Sign and one push.
          const after = harness.calls();
          expect([after.kms - before.kms, after.secretsManager - before.secretsManager, after.as - before.as]).toEqual([1, 0, 1]);

          const push = harness.as.requests[pushedBefore]!;
          expect(push.endpoint).toBe('par');
          expect([...push.form.keys()].sort()).toEqual(['client_id', 'client_secret', 'request']);
          expect(push.form.get('client_id')).toBe(CLIENT_ID);
          const jws = push.form.get('request')!;
          leaks.secret(jws);
          const { payload } = await compactVerify(jws, publicKey);
          expect(decodeProtectedHeader(jws)).toEqual({ alg: 'PS256', typ: 'oauth-authz-req+jwt', kid: expect.stringMatching(/^[\w-]{43}$/) });

          const claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
          const sent = JSON.parse(JSON.stringify(intent)) as Record<string, unknown>; // what went over the wire
          expect(Object.keys(claims).sort()).toEqual([...new Set([...PROXY_CLAIMS, ...Object.keys(sent)])].sort());
          for (const [field, value] of Object.entries(sent)) expect(claims[field], field).toEqual(value);
          expect(claims).toMatchObject({ iss: CLIENT_ID, client_id: CLIENT_ID, aud: harness.as.issuer, response_type: 'code' });
          const iat = claims.iat as number;
          expect(iat).toBeGreaterThanOrEqual(sentAt - 1);
          expect(iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1);
          expect([claims.nbf, claims.exp]).toEqual([iat - 5, iat + 60]);
          expect(claims.jti).toMatch(/^[\w-]{22}$/);
          expect(jtis.has(claims.jti as string), 'jti reused').toBe(false);
          jtis.add(claims.jti as string);
        }),
        fcOptions(250),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('duplicate keys: the last value is the one validated and the one signed (JSON.parse semantics)', async () => {
    const base = JSON.stringify(validIntent()).slice(1, -1);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('state', 'nonce', 'scope', 'redirect_uri'), fc.jsonValue({ maxDepth: 1 }), async (field, first) => {
        const last = field === 'redirect_uri' ? OTHER_REDIRECT_URI : `last-${field}`;
        const pushedBefore = harness.as.requests.length;
        const accepted = await post({ headers: jsonHeaders(), body: `{${JSON.stringify(field)}:${JSON.stringify(first)},${base},${JSON.stringify(field)}:${JSON.stringify(last)}}` });
        expect(accepted.status, accepted.raw).toBe(201);
        const jws = harness.as.requests[pushedBefore]!.form.get('request')!;
        leaks.secret(jws);
        expect(JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8'))[field]).toBe(last);
        // The other way round, a bad last value is refused.
        const bad = field === 'redirect_uri' ? 'https://evil.example/cb' : 1;
        await refused({ headers: jsonHeaders(), body: `{${base},${JSON.stringify(field)}:${JSON.stringify(bad)}}` }, 400);
      }),
      fcOptions(25),
    );
  });

  it('deep nesting inside an authorization_details entry is carried intact', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3000 }), fc.boolean(), async (depth, arrays) => {
        const nested = arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        const body = JSON.stringify(validIntent()).slice(0, -1) + `,"authorization_details":[{"type":"payment_initiation","x":${nested}}]}`;
        const pushedBefore = harness.as.requests.length;
        const answer = await post({ headers: jsonHeaders(), body });
        if (bytes(body) > MAX_BODY_BYTES || bytes(`[{"type":"payment_initiation","x":${nested}}]`) > 4096) {
          expectRefusal(answer, bytes(body) > MAX_BODY_BYTES ? 413 : 400);
          return;
        }
        expect(answer.status, answer.raw).toBe(201);
        const jws = harness.as.requests[pushedBefore]!.form.get('request')!;
        leaks.secret(jws);
        const claims = Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8');
        expect(claims).toContain(nested);
      }),
      fcOptions(20),
    );
  });
});

describe('POST /par: hostile bodies are refused before any upstream call', () => {
  it(
    'any JSON value: 400 invalid_request (413 over 8 KiB)',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
          const body = JSON.stringify(value);
          await refused({ headers: jsonHeaders(), body }, statusFor(body));
        }),
        fcOptions(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'objects with intent, proxy-owned, dangerous and random keys holding any JSON: 400',
    async () => {
      const keys = fc.oneof(fc.constantFrom(...INTENT_FIELDS, ...PROXY_OWNED, ...DANGEROUS_KEYS), anyString(16));
      await fc.assert(
        fc.asyncProperty(fc.dictionary(keys, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 12 }), async (object) => {
          const body = JSON.stringify(object);
          await refused({ headers: jsonHeaders(), body }, statusFor(body));
        }),
        fcOptions(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'a valid intent with exactly one thing wrong: 400 (413 over 8 KiB), whatever it is',
    async () => {
      await fc.assert(
        fc.asyncProperty(invalidIntents, async ([, body]) => {
          const answer = await refused({ headers: jsonHeaders(), body }, statusFor(body));
          // A proxy-owned field is named as such.
          const owned = PROXY_OWNED.find((k) => Object.hasOwn(JSON.parse(body) as object, k));
          if (owned !== undefined && answer.status === 400) expect(answer.body.error_description).toBe(`${owned} is set by the proxy and must not be sent`);
        }),
        fcOptions(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'non-JSON: any string, any bytes (API Gateway base64-encodes binary bodies): 400, or 413 over 8 KiB',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            anyString(300).map((s) => ({ body: s, isBase64Encoded: false, size: Buffer.byteLength(s) })),
            fc.uint8Array({ maxLength: 600 }).map((b) => ({ body: Buffer.from(b).toString('base64'), isBase64Encoded: true, size: b.length })),
            fc.constantFrom('{', '{"redirect_uri":', '[1,2', 'nul', 'undefined', "{'a':1}", '{"a":1,}', '\ufeff{}', '{"a":1}garbage').map((s) => ({ body: s, isBase64Encoded: false, size: bytes(s) })),
          ),
          async ({ body, isBase64Encoded, size }) => {
            await refused({ headers: jsonHeaders(), body, isBase64Encoded }, size > MAX_BODY_BYTES ? 413 : 400);
          },
        ),
        fcOptions(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('deep nesting at the top level: 400, no stack overflow', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4000 }), fc.boolean(), async (depth, arrays) => {
        const body = arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(Math.floor(depth / 2))}1${'}'.repeat(Math.floor(depth / 2))}`;
        await refused({ headers: jsonHeaders(), body }, statusFor(body));
      }),
      fcOptions(40),
    );
  });

  it('the same answer whether API Gateway sent the body as text or base64', async () => {
    const bodies = fc.oneof(
      invalidIntents.map(([, body]) => body),
      anyString(200),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const raw = await refused({ headers: jsonHeaders(), body }, [400, 413]);
        const encoded = await refused({ headers: jsonHeaders(), body: Buffer.from(body).toString('base64'), isBase64Encoded: true }, [400, 413]);
        expect(encoded.body).toEqual(raw.body);
        expect(encoded.status).toBe(raw.status);
      }),
      fcOptions(200),
    );
  });
});

/** The two descriptions of a refused string (functions/core/validation.ts), naming `field`. */
const REFUSED_STRING = (field: string) =>
  new RegExp(`^${field} (must not contain control, bidirectional or line separator characters|must be well-formed Unicode)$`);

/** Puts `value` somewhere in the intent's strings: a free-text field, or deep in an authorization_details entry. */
const placements = (value: string): fc.Arbitrary<[string, Record<string, unknown>]> =>
  fc.oneof(
    fc.constantFrom(...FREE_TEXT).map((field): [string, Record<string, unknown>] => [field, { [field]: value }]),
    fc
      .constantFrom<unknown>({ note: value }, { creditor: { name: value } }, { locations: ['https://a.example', value] }, { deep: [[{ x: [value] }]] }, { [value]: true })
      .map((extra): [string, Record<string, unknown>] => ['authorization_details', { authorization_details: [{ ...(extra as object), type: 'payment_initiation' }] }]),
  );

describe('POST /par: strings the authorization server\'s screens will show (issue 10, part 4)', () => {
  it(
    'a C0 or C1 control, a bidi control, U+2028/U+2029 or a lone surrogate anywhere in the intent: 400 naming the field, nothing upstream',
    async () => {
      await fc.assert(
        fc.asyncProperty(validIntents, textWithRefusedCharacter().chain(placements), async (intent, [field, change]) => {
          const body = JSON.stringify({ ...intent, ...change });
          const answer = await refused({ headers: jsonHeaders(), body }, statusFor(body));
          if (answer.status === 400) expect(answer.body.error_description).toMatch(REFUSED_STRING(field));
        }),
        fcOptions(200),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'other text, format characters included (ZWJ in emoji, ZWNJ in Persian, soft hyphen, BOM): 201, signed exactly as sent',
    async () => {
      await fc.assert(
        fc.asyncProperty(textWithFormatCharacters(64).chain(placements), async ([field, change]) => {
          const intent = { ...validIntent(), ...change };
          const pushedBefore = harness.as.requests.length;
          const answer = await post({ headers: jsonHeaders(), body: JSON.stringify(intent) });
          expect(answer.status, `${field}: ${answer.raw}`).toBe(201);
          const jws = harness.as.requests[pushedBefore]!.form.get('request')!;
          leaks.secret(jws);
          const claims = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
          expect(claims[field]).toEqual(intent[field as keyof typeof intent]);
        }),
        fcOptions(150),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});

describe('POST /par: size limit', () => {
  /** A valid intent of exactly `size` bytes of JSON, padded in four text fields. */
  function intentOfSize(size: number): string {
    const fields = ['login_hint', 'acr_values', 'audience', 'scope'] as const;
    const intent: Record<string, unknown> = { ...validIntent(), login_hint: 'x', acr_values: 'x', audience: 'x', scope: 'x' };
    let missing = size - bytes(intent);
    for (const field of fields) {
      const add = Math.min(missing, 2047);
      intent[field] = 'x'.repeat(1 + add);
      missing -= add;
    }
    const body = JSON.stringify(intent);
    expect(bytes(body)).toBe(size);
    return body;
  }

  it('8 KiB exactly is accepted; one byte more is 413, as text or base64', async () => {
    expect((await post({ headers: jsonHeaders(), body: intentOfSize(MAX_BODY_BYTES) })).status).toBe(201);
    expect((await post({ headers: jsonHeaders(), body: Buffer.from(intentOfSize(MAX_BODY_BYTES)).toString('base64'), isBase64Encoded: true })).status).toBe(201);
    await refused({ headers: jsonHeaders(), body: intentOfSize(MAX_BODY_BYTES + 1) }, 413);
    await refused({ headers: jsonHeaders(), body: Buffer.from(intentOfSize(MAX_BODY_BYTES + 1)).toString('base64'), isBase64Encoded: true }, 413);
  });

  it('anything over 8 KiB is 413, whatever Content-Length claims', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: MAX_BODY_BYTES + 1, max: 256 * 1024 }),
        fc.boolean(),
        fc.constantFrom(undefined, '0', '10', '8192', '-1', 'abc'),
        fc.constantFrom('x', '{"state":"', 'é'),
        async (size, base64, declared, filler) => {
          const body = filler === '{"state":"' ? `${filler}${'s'.repeat(size)}"}` : filler.repeat(Math.ceil(size / bytes(filler)));
          await refused(
            {
              headers: jsonHeaders(declared === undefined ? {} : { 'content-length': declared }),
              body: base64 ? Buffer.from(body).toString('base64') : body,
              isBase64Encoded: base64,
            },
            413,
          );
        },
      ),
      fcOptions(40),
    );
  });
});

describe('POST /par: content types', () => {
  /** The README's rule: the media type before any parameter, trimmed, case-insensitive, is application/json. */
  function expected(value: string | undefined): 'accepted' | 400 | 415 {
    if (value === undefined || value === '') return 415; // no Content-Type (API Gateway drops empty values)
    if (isMalformedHeaderValue(value)) return 400;
    if (/[^\x00-\x7f]/.test(value)) return 415; // the adapter percent-encodes non-ASCII header values
    return normalizeHeaderValue(value).split(';')[0]!.trim().toLowerCase() === 'application/json' ? 'accepted' : 415;
  }

  it(
    'a valid intent is accepted if and only if its media type is application/json; otherwise 415 (400 if the header is malformed)',
    async () => {
      const contentTypes = fc.oneof(
        fc.constantFrom(
          undefined, '', 'application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'application/json;charset=UTF-16',
          ' application/json ', 'application/json;', 'application/json ; x=y', 'application/json\t', 'application/jsonx', 'application/json5',
          'text/json', 'application/ld+json', 'application/problem+json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
          'text/plain', 'application/json,text/plain', 'application/ json', 'application /json', 'json', '*/*', 'application/*',
          'application/json; charset=\u00e9', 'application/json\r\nx-injected: 1', 'application/json\u0000',
        ),
        fc.tuple(fc.mixedCase(fc.constant('application/json')), fc.constantFrom('', ';', '; charset=utf-8', ' ;q=1', ',x', '/x')).map(([a, b]) => a + b),
        anyString(40),
      );
      await fc.assert(
        fc.asyncProperty(contentTypes, async (contentType) => {
          const headers: Record<string, string> = { origin: ORIGIN };
          if (contentType !== undefined) headers['content-type'] = contentType;
          const outcome = expected(contentType);
          const before = harness.calls();
          const answer = await post({ headers, body: JSON.stringify(validIntent()) });
          if (outcome === 'accepted') {
            expect(answer.status, answer.raw).toBe(201);
          } else {
            expectRefusal(answer, outcome);
            expect(harness.calls()).toEqual(before);
          }
        }),
        fcOptions(250),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});

const SAFE_RESPONSE_HEADERS = new Set([
  'content-type', 'cache-control', 'access-control-allow-origin', 'vary', 'retry-after',
  'access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age',
]);

describe('POST /par: header smuggling', () => {
  it('CR, LF, NUL or non-Latin-1 in any header value, or a malformed header name: 400, no CORS, nothing upstream', async () => {
    const smuggled = fc.oneof(
      fc.tuple(headerName(), smugglingValue()).map(([name, value]) => ({ [name]: value })),
      smugglingValue().map((value) => ({ origin: `${ORIGIN}${value}` })),
      smugglingValue().map((value) => ({ 'content-type': `application/json${value}` })),
      fc.constantFrom('x smuggle', 'x:y', 'x\r\ny', '', 'ü', 'x\u0000', '(x)', 'a/b').map((name) => ({ [name]: 'v' })),
    );
    await fc.assert(
      fc.asyncProperty(smuggled, fc.boolean(), async (extra, valid) => {
        const answer = await refused({ headers: { ...jsonHeaders(), ...extra }, body: valid ? JSON.stringify(validIntent()) : '{}' }, 400);
        expect(answer.body.error_description).toBe('the request headers are malformed');
        expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      }),
      fcOptions(200),
    );
  });

  it('no answer ever carries a header it should not, or a value with CR or LF', async () => {
    const requests = fc.record({
      extra: fc.dictionary(headerName(), fc.oneof(anyString(30), smugglingValue()), { maxKeys: 3 }),
      body: fc.oneof(invalidIntents.map(([, b]) => b), fc.constant(JSON.stringify(validIntent())), anyString(50)),
      method: fc.constantFrom('POST', 'OPTIONS', 'GET', 'PUT', 'DELETE', 'PATCH'),
    });
    await fc.assert(
      fc.asyncProperty(requests, async ({ extra, body, method }) => {
        const answer = await post({ method, headers: { ...jsonHeaders(), ...extra }, ...(method === 'GET' ? {} : { body }) });
        expect(answer.status).toBeLessThan(500);
        for (const [name, value] of Object.entries(answer.headers)) {
          expect(SAFE_RESPONSE_HEADERS.has(name.toLowerCase()), name).toBe(true);
          expect(String(value)).not.toMatch(/[\r\n\0]/);
        }
        if (answer.status >= 400) expectRefusal(answer, CALLER_ERROR_STATUSES, answer.status === 403 ? 'access_denied' : 'invalid_request');
      }),
      fcOptions(200),
    );
  });
});

describe('POST /par: the Origin allow-list (exact match)', () => {
  /** What the proxy must answer for this Origin header value, from the README's rule. */
  function expected(value: string | undefined): 'allowed' | 'no-cors' | 400 | 403 {
    if (value === undefined || value === '') return 'no-cors'; // a non-browser caller
    if (isMalformedHeaderValue(value)) return 400;
    if (/[^\x00-\x7f]/.test(value)) return 403;
    return normalizeHeaderValue(value) === ORIGIN ? 'allowed' : 403;
  }

  it(
    'only the exact allowed Origin gets CORS headers; any other gets 403 access_denied and none, preflight included',
    async () => {
      const origins = fc.oneof(
        fc.constant(ORIGIN),
        fc.constant(undefined),
        nearMissOf([ORIGIN]),
        fc.webUrl().map((u) => new URL(u).origin),
        anyString(40),
      );
      await fc.assert(
        fc.asyncProperty(origins, fc.constantFrom('POST', 'OPTIONS'), async (origin, method) => {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (origin !== undefined) headers.origin = origin;
          if (method === 'OPTIONS') headers['access-control-request-method'] = 'POST';
          const before = harness.calls();
          const answer = await post({ method, headers, ...(method === 'POST' ? { body: JSON.stringify(validIntent()) } : {}) });
          const outcome = expected(origin);
          if (outcome === 400 || outcome === 403) {
            expectRefusal(answer, outcome, outcome === 403 ? 'access_denied' : 'invalid_request');
            expect(answer.headers['access-control-allow-origin']).toBeUndefined();
            expect(harness.calls()).toEqual(before);
            return;
          }
          expect(answer.status, answer.raw).toBe(method === 'OPTIONS' && outcome === 'allowed' ? 204 : method === 'OPTIONS' ? 404 : 201);
          expect(answer.headers['access-control-allow-origin']).toBe(outcome === 'allowed' ? ORIGIN : undefined);
        }),
        fcOptions(250),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it.each([
    ['trailing slash', `${ORIGIN}/`],
    ['upper-case host', 'https://APP.example.com'],
    ['upper-case scheme', 'HTTPS://app.example.com'],
    ['explicit default port', 'https://app.example.com:443'],
    ['another port', 'https://app.example.com:8443'],
    ['userinfo', 'https://user@app.example.com'],
    ['userinfo trick', 'https://app.example.com@evil.example'],
    ['percent-encoded dot', 'https://app%2eexample.com'],
    ['a path with ..', 'https://app.example.com/..'],
    ['scheme change', 'http://app.example.com'],
    ['a subdomain', 'https://evil.app.example.com'],
    ['a suffix domain', 'https://app.example.com.evil.example'],
    ['a prefix domain', 'https://evilapp.example.com'],
    ['a trailing dot', 'https://app.example.com.'],
    ['the null origin (sandboxed frames, file:, cross-origin redirects)', 'null'],
    ['two origins', `${ORIGIN}, https://evil.example`],
    // A browser sends an IDN origin in punycode; the raw Cyrillic is not Latin-1 and gets 400 (header smuggling above).
    ['a homoglyph (Cyrillic a, as a browser sends it)', new URL('https://\u0430pp.example.com').origin],
    ['quoted', `"${ORIGIN}"`],
    ['a wildcard', '*'],
  ])('Origin near miss, %s: 403 access_denied, no CORS headers, POST and preflight', async (_name, origin) => {
    for (const method of ['POST', 'OPTIONS']) {
      const answer = await refused(
        { method, headers: { ...jsonHeaders(), origin, 'access-control-request-method': 'POST' }, ...(method === 'POST' ? { body: JSON.stringify(validIntent()) } : {}) },
        403,
        'access_denied',
      );
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    }
  });
});

describe('POST /par: the redirect_uri allow-list (exact string match, RFC 9700 2.1)', () => {
  it.each([
    ['trailing slash', `${REDIRECT_URI}/`],
    ['upper-case host', 'https://APP.example.com/callback'],
    ['upper-case path', 'https://app.example.com/Callback'],
    ['upper-case scheme', 'HTTPS://app.example.com/callback'],
    ['explicit default port', 'https://app.example.com:443/callback'],
    ['another port', 'https://app.example.com:8443/callback'],
    ['userinfo', 'https://user@app.example.com/callback'],
    ['userinfo trick', 'https://app.example.com@evil.example/callback'],
    ['percent-encoded path', 'https://app.example.com/%63allback'],
    ['percent-encoded slash', 'https://app.example.com%2fcallback'],
    ['a .. segment', 'https://app.example.com/x/../callback'],
    ['a . segment', 'https://app.example.com/./callback'],
    ['a double slash', 'https://app.example.com//callback'],
    ['a backslash', 'https://app.example.com\\callback'],
    ['scheme change to http', 'http://app.example.com/callback'],
    ['scheme change to javascript', 'javascript://app.example.com/callback'],
    ['a subdomain', 'https://evil.app.example.com/callback'],
    ['a suffix domain', 'https://app.example.com.evil.example/callback'],
    ['a trailing dot', 'https://app.example.com./callback'],
    ['an added query', `${REDIRECT_URI}?next=https://evil.example`],
    ['an added fragment', `${REDIRECT_URI}#x`],
    ['a longer path', `${REDIRECT_URI}x`],
    ['a deeper path', `${REDIRECT_URI}/evil`],
    ['trailing whitespace', `${REDIRECT_URI} `],
    ['leading whitespace', ` ${REDIRECT_URI}`],
    ['a tab', `${REDIRECT_URI}\t`],
    ['a homoglyph (Cyrillic a)', 'https://\u0430pp.example.com/callback'],
    ['a full-width slash', 'https://app.example.com\uff0fcallback'],
    ['another allowed URI\'s origin with this path', 'http://localhost:8080/callback'],
  ])('redirect_uri near miss, %s: 400 invalid_request', async (_name, redirectUri) => {
    const answer = await refused({ headers: jsonHeaders(), body: JSON.stringify({ ...validIntent(), redirect_uri: redirectUri }) }, 400);
    expect(answer.body.error_description).toMatch(/^redirect_uri (is not an allowed redirect URI|must not contain control, bidirectional or line separator characters)$/);
  });
});

describe('POST /par: no prototype pollution', () => {
  it('__proto__, constructor.prototype and prototype payloads are refused as unknown fields and pollute nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(pollutingJson(validIntent()), pollutingJson({})), async (body) => {
        const answer = await refused({ headers: jsonHeaders(), body }, 400);
        expect(answer.body.error_description).toMatch(/^(__proto__|constructor|prototype) is not an accepted field$/);
        expectNoPollution(prototypes);
      }),
      fcOptions(60),
    );
  });

  it('pollution payloads nested inside authorization_details are carried as data, polluting nothing', async () => {
    const body = `${JSON.stringify(validIntent()).slice(0, -1)},"authorization_details":[{"type":"payment_initiation","x":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}}]}`;
    const pushedBefore = harness.as.requests.length;
    const answer = await post({ headers: jsonHeaders(), body });
    expect(answer.status).toBe(201);
    const jws = harness.as.requests[pushedBefore]!.form.get('request')!;
    leaks.secret(jws);
    const claims = Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8');
    expect(claims).toContain('"x":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}');
    expectNoPollution(prototypes);
  });

  it(
    'an authorization_details entry with a top-level __proto__, constructor or prototype key is refused with 400, not signed without it',
    async () => {
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const body = `${JSON.stringify(validIntent()).slice(0, -1)},"authorization_details":[{"type":"payment_initiation","${key}":{"amount":"100"}}]}`;
        const answer = await post({ headers: jsonHeaders(), body });
        expect(answer.status, `${key}: ${answer.raw}`).toBe(400);
      }
    },
  );

  it('no prototype changed over the whole file', () => {
    expectNoPollution(prototypes);
  });
});

describe('POST /par: nothing leaks', () => {
  it('no leaks: no client secret, request object or stack trace in anything this file logged or answered', () => {
    const report = leaks.report();
    expect(report.answers).toBeGreaterThan(2000);
    expect(report.requestLogLines).toBeGreaterThan(2000); // the logs were seen, not silenced
    expect(jtis.size).toBeGreaterThan(100);
    expect(report.findings).toEqual([]);
  });
});
