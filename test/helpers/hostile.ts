import fc from 'fast-check';
import { expect } from 'vitest';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type { ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { apiEvent, lambdaContext } from './events.ts';
import type { Answer } from './harness.ts';
import { ORIGIN } from './harness.ts';
import type { LeakCollector } from './leak-collector.ts';

/**
 * Shared pieces of the hostile-input properties (test/hostile): reproducible fast-check settings,
 * a raw API Gateway invocation with no default headers, the refusal contract, and arbitraries.
 *
 * Reproducing a failure: fast-check prints `seed` and `path`; rerun the one test with
 *   FC_SEED=<seed> FC_PATH=<path> npx vitest run test/hostile/<file> -t '<test name>'
 * Exploring further: FC_SEED=<any integer> and FC_RUNS_SCALE=10 (ten times the runs).
 */
export const FC_SEED = Number(process.env.FC_SEED ?? 20_251_128);

export function fcOptions<T>(numRuns: number): fc.Parameters<T> {
  const scale = Number(process.env.FC_RUNS_SCALE ?? 1);
  return {
    seed: FC_SEED,
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1))),
    ...(process.env.FC_PATH === undefined ? {} : { path: process.env.FC_PATH }),
    // Bounded in time as well as in count: one run may not take 5 s, one property not 60 s.
    plugins: [fc.timeout(5_000), fc.interruptAfterTimeLimit(60_000, { failOnInterrupt: true })],
  };
}

/** Per-test timeout for a property test (vitest), above the property's own limit. */
export const PROPERTY_TIMEOUT_MS = 70_000;

/** The statuses a caller's mistake may get (README): never anything else, never a 5xx. */
export const CALLER_ERROR_STATUSES = [400, 403, 404, 413, 415] as const;

export const MAX_BODY_BYTES = 8 * 1024;

export interface RawRequest {
  readonly method?: string;
  readonly path?: string;
  /** Exactly these headers (and API Gateway's host): nothing is added. */
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

/** One API Gateway v2 event through the Lambda handler, with full control of headers and body. */
export async function send(handler: ApiGatewayHandler, request: RawRequest): Promise<Answer> {
  const started = performance.now();
  const result = (await handler(
    apiEvent({
      method: request.method ?? 'POST',
      path: request.path ?? '/par',
      headers: request.headers ?? {},
      ...(request.body === undefined ? {} : { body: request.body }),
      isBase64Encoded: request.isBase64Encoded ?? false,
    }),
    lambdaContext,
  )) as Exclude<APIGatewayProxyResultV2, string>;
  const raw = result.body ?? '';
  let body: Record<string, unknown>;
  try {
    const parsed: unknown = raw === '' ? {} : JSON.parse(raw);
    body = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { unparsable: raw };
  } catch {
    body = { unparsable: raw };
  }
  return { status: result.statusCode ?? 0, headers: result.headers ?? {}, body, raw, ms: performance.now() - started };
}

/** JSON headers from an allowed Origin, as the SPA sends them. */
export const jsonHeaders = (extra: Record<string, string> = {}): Record<string, string> => ({
  'content-type': 'application/json',
  origin: ORIGIN,
  ...extra,
});

/**
 * The refusal contract: one of the expected statuses, exactly {error, error_description} as JSON,
 * a description that is short printable ASCII (never an echo of the input), Cache-Control: no-store.
 */
export function expectRefusal(answer: Answer, statuses: number | readonly number[], error = 'invalid_request'): void {
  const allowed = typeof statuses === 'number' ? [statuses] : statuses;
  expect(allowed, `status ${answer.status}: ${answer.raw.slice(0, 200)}`).toContain(answer.status);
  expect(answer.status).toBeLessThan(500);
  expect(Object.keys(answer.body).sort()).toEqual(['error', 'error_description']);
  expect(answer.body.error).toBe(error);
  expect(answer.body.error_description).toMatch(/^[\x20-\x7e]{1,160}$/);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(String(answer.headers['content-type'])).toMatch(/^application\/json/);
}

/** What HTTP does to a header value before anyone reads it (RFC 9110 5.5: no leading or trailing whitespace). */
export const normalizeHeaderValue = (value: string): string => value.replace(/^[\t ]+|[\t ]+$/g, '');

/** functions/app/lambda.ts refuses these before hono sees them: CR, LF, NUL and other controls, code points > 0xff. */
export const isMalformedHeaderValue = (value: string): boolean => !/^[\t\x20-\x7e\x80-\xff]*$/.test(value);

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Characters that break naive parsers, encoders, loggers and comparisons. */
export const NASTY_UNITS = [
  '"', '\\', '/', "'", '<', '>', '&', '%', '%00', '%0d%0a', '${', '{{', '}}', '`', ';', ',', '=', '?', '#', '@', ':',
  '\u00a0', '\u0085', '\u2028', '\u2029', '\u200b', '\u200c', '\u200d', '\u00ad', '\u2060', '\u202e', '\u2066', '\u200f',
  '\ufeff', '\ufffd', '\uffff', '\ud800', '\udfff', '😀', '👩‍👩‍👧', 'é', 'é', 'ﬀ', 'İ', 'ß', 'Ω', 'Å', '𝒜', '\u0301',
  '__proto__', 'constructor', 'prototype', 'toString', 'null', 'undefined', 'NaN', '1e309', '-0',
  '<script>', "' OR 1=1 --", '../', '..\\', 'eyJ',
];

/**
 * What the proxy refuses in any string of a request (issue 10, part 4), restated here as the test's
 * oracle: C0 and C1 controls, the bidirectional controls, U+2028 and U+2029.
 */
const REFUSED_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
/** ...and lone surrogates: a high one not followed by a low one, a low one not after a high one. */
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `s` with every character the proxy refuses replaced by `_`. */
export const withoutRefusedCharacters = (s: string): string => s.replace(REFUSED_CHARACTERS, '_').replace(LONE_SURROGATES, '_');

/** Any string: full Unicode, lone surrogates, controls, and the nasty units. */
export const anyString = (maxLength = 64): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
      { weight: 2, arbitrary: fc.constantFrom(...NASTY_UNITS) },
      { weight: 1, arbitrary: fc.constantFrom('\u0000', '\r', '\n', '\t', '\u001b', '\u007f') },
    ),
    maxLength,
  });

/**
 * A string the proxy must accept as text (validation.ts): 1..max UTF-16 code units, well-formed, with
 * none of the refused characters; every other character, other format characters included, is fair game.
 */
export const acceptableText = (max: number, typicalMax = 40): fc.Arbitrary<string> =>
  fc
    .oneof(
      { weight: 9, arbitrary: anyString(Math.min(max, typicalMax)) },
      // At the limit, in ASCII so that several long fields still fit in 8 KiB.
      { weight: 1, arbitrary: fc.constant('x'.repeat(max)) },
    )
    .map(withoutRefusedCharacters)
    .filter((s) => s.length >= 1 && s.length <= max);

/**
 * Format characters (Unicode Cf) and sequences that real text needs and that the proxy must keep:
 * ZWJ in emoji, ZWNJ in Persian and Indic scripts, soft hyphen, word joiner, zero-width space, BOM,
 * Mongolian vowel separator, variation selectors, emoji tag sequences.
 */
export const FORMAT_TEXT = [
  '\u200d', '\u200c', '\u200b', '\u00ad', '\u2060', '\ufeff', '\u180e', '\u034f', '\ufe0f', '\u2061', '\u{e0067}',
  '👩‍👩‍👧', '🏳️‍🌈', '🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}', 'می‌خواهم', 'क्‍ष', 'e\u0301', 'مرحبا', 'שלום',
];

/** Text with at least one of FORMAT_TEXT in it, and nothing the proxy refuses. */
export const textWithFormatCharacters = (max = 200): fc.Arbitrary<string> =>
  fc
    .tuple(acceptableText(max, 20), fc.array(fc.constantFrom(...FORMAT_TEXT), { minLength: 1, maxLength: 4 }), acceptableText(max, 20))
    .map(([a, format, b]) => `${a}${format.join('')}${b}`)
    .filter((s) => s.length <= max);

/** One character (or lone surrogate) the proxy refuses, of every kind: C0, C1, bidi, separators, surrogates. */
export const refusedCharacter = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: 0x00, max: 0x1f }).map((c) => String.fromCharCode(c)),
    fc.integer({ min: 0x7f, max: 0x9f }).map((c) => String.fromCharCode(c)),
    fc.constantFrom('\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u2028', '\u2029'),
    // Between ASCII letters, so that no neighbour can pair it up.
    fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => `x${String.fromCharCode(c)}x`),
    fc.constantFrom('\r\n', '\r\nSet-Cookie: a=b', 'admin\u202emoc.elpmaxe', '\ud83d\ud83d', '\ude00\ud83d'),
  );

/** A string with at least one character the proxy refuses in it, anywhere. */
export const textWithRefusedCharacter = (): fc.Arbitrary<string> =>
  fc.tuple(acceptableText(20, 20), refusedCharacter(), acceptableText(20, 20), fc.nat(3)).map(([a, bad, b, where]) =>
    where === 0 ? bad : where === 1 ? `${bad}${b}` : where === 2 ? `${a}${bad}` : `${a}${bad}${b}`,
  );

/** A JSON value that is not a string. */
export const nonString = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  );

/** Keys that have bitten JavaScript servers before. */
export const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'then'];

/** A JSON text with an own `__proto__` / `constructor.prototype` payload, as an attacker writes it. */
export const pollutingJson = (base: Record<string, unknown>): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.constantFrom(
        '"__proto__":{"polluted":"yes"}',
        '"constructor":{"prototype":{"polluted":"yes"}}',
        '"prototype":{"polluted":"yes"}',
        '"__proto__":{"__proto__":{"polluted":"yes"}}',
        '"__proto__":{"toString":"polluted"}',
        '"__proto__":{"isAdmin":true,"redirect_uri":"https://evil.example/cb"}',
      ),
      fc.boolean(),
    )
    .map(([payload, first]) => {
      const rest = JSON.stringify(base).slice(1, -1);
      return first ? `{${payload}${rest === '' ? '' : `,${rest}`}}` : `{${rest}${rest === '' ? '' : ','}${payload}}`;
    });

/** Own-key snapshot of the prototypes a pollution would touch. */
export function prototypeSnapshot(): Record<string, string[]> {
  const keys = (o: object) => Reflect.ownKeys(o).map(String).sort();
  return {
    object: keys(Object.prototype),
    array: keys(Array.prototype),
    function: keys(Function.prototype),
    string: keys(String.prototype),
  };
}

export function expectNoPollution(before: Record<string, string[]>): void {
  const probe = {} as Record<string, unknown>;
  for (const key of ['polluted', 'isAdmin', 'redirect_uri']) expect(probe[key], key).toBeUndefined();
  expect(String(probe)).toBe('[object Object]');
  expect(prototypeSnapshot()).toEqual(before);
}

/** Header names: valid tokens, and names API Gateway would never pass but a fuzzer should try. */
export const headerName = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
    fc.constantFrom('x-forwarded-for', 'x-amzn-trace-id', 'cookie', 'authorization', 'x-smuggle', 'transfer-encoding', 'content-length'),
  );

/** A header value that cannot become an HTTP header: CR, LF, NUL, other controls, or code points > 0xff. */
export const smugglingValue = (): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
      fc.constantFrom('\r\n', '\n', '\r', '\u0000', '\u000b', '\u001b', '\u007f', '\u2028', '\u0100', '😀', '\r\nx-injected: 1', '\r\n\r\nGET / HTTP/1.1'),
      fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
    )
    .map(([a, bad, b]) => `${a}${bad}${b}`);

/** Record the answer in the file's leak collector and return it. */
export function recorded(leaks: LeakCollector, answer: Answer, tokensByDesign = false): Answer {
  leaks.answer(answer, { tokensByDesign: tokensByDesign && answer.status === 200 });
  return answer;
}
