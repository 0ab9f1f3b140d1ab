import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SESSION, startBffStack, type BffStack, type Session } from '../helpers/bff-lambda.ts';
import { CLIENT_SECRET } from '../helpers/harness.ts';
import { fcOptions, PROPERTY_TIMEOUT_MS } from '../helpers/hostile.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';

/**
 * GET /session through the real Lambda handler (API Gateway v2 `event.cookies`), property-based
 * (fast-check, fixed seed: test/helpers/hostile.ts). The codec's own properties are in
 * sealed-cookie-properties.test.ts; here the whole path: the Lambda guard that drops what is not a
 * cookie-pair (RFC 6265 4.1.1), hono's cookie parsing, the chunk reader and the key ring. Other
 * cookies on the site never cost the user the session; any change to the session cookie's value
 * makes it absent (RFC 7516 5.2: a JWE whose tag does not verify is rejected), and never a 5xx.
 */
let s: BffStack;
let session: Session;
const leaks = createLeakCollector('keep');
let stopWatching: () => void = () => {};

beforeAll(async () => {
  s = await startBffStack(leaks);
  leaks.secret(CLIENT_SECRET);
  session = await s.signIn();
});
afterAll(() => s?.close());
beforeEach(() => {
  stopWatching = leaks.watch();
});
afterEach(() => stopWatching());

const TOKEN_CHARS = "!#$%&'*+.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-";
const OCTETS = [...Array.from({ length: 0x7e - 0x20 }, (_, i) => String.fromCharCode(0x21 + i))].filter((c) => !'",;\\'.includes(c)).join('');
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const chars = (alphabet: string, maxLength: number, minLength = 0) =>
  fc.array(fc.constantFrom(...alphabet), { minLength, maxLength }).map((list) => list.join(''));

/** A cookie name other than the session cookie's: anything else a site may set, look-alikes included. */
const otherName = fc
  .oneof(
    chars(TOKEN_CHARS, 24, 1),
    chars(B64URL, 16, 16).map((id) => `__Host-bff-login.${id}`),
    fc.nat({ max: 12 }).map((n) => `${SESSION}.${n}`),
    fc.constantFrom('__host-bff-session', '__Host-bff-session_', '__Host-bff-sessio', '__Secure-bff-session'),
  )
  .filter((name) => name !== SESSION);

/** What event.cookies may hold besides the session: cookie-pairs of any value, and entries that are not cookie-pairs at all. */
const junk = fc.oneof(
  fc.tuple(otherName, fc.oneof(chars(OCTETS, 64), chars(B64URL + '.', 200))).map(([name, value]) => `${name}=${value}`),
  fc.tuple(otherName, fc.string({ maxLength: 40 })).map(([name, value]) => `${name}=${value}`),
  fc.string({ maxLength: 60 }),
  fc.string({ maxLength: 60, unit: 'binary' }),
);

/** A change to a sealed value: one character replaced, a range removed, characters inserted, parts reordered. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), with: fc.constantFrom(...B64URL, '.', '=', '%', '+', '/', '"') }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: chars(B64URL + '.', 8, 1) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat({ max: 4 }), b: fc.nat({ max: 4 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(value: string, change: Mutation): string {
  const at = (n: number) => n % (value.length + 1);
  switch (change.kind) {
    case 'replace': {
      const i = change.at % value.length;
      return `${value.slice(0, i)}${change.with}${value.slice(i + 1)}`;
    }
    case 'delete':
      return `${value.slice(0, at(change.at))}${value.slice(at(change.at) + change.length)}`;
    case 'insert':
      return `${value.slice(0, at(change.at))}${change.text}${value.slice(at(change.at))}`;
    case 'truncate':
      return value.slice(0, change.at % value.length);
    case 'swap': {
      const parts = value.split('.');
      [parts[change.a], parts[change.b]] = [parts[change.b]!, parts[change.a]!];
      return parts.join('.');
    }
  }
}

const sessionOf = (cookies: string[]) => s.send(s.bff, { path: '/session', cookies });

describe('GET /session with the cookies a real site sends', () => {
  it(
    'any other cookies, however malformed, around a valid session cookie: still authenticated',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(junk, { maxLength: 16 }), fc.nat(), async (others, at) => {
          const cookies = [...others];
          cookies.splice(at % (others.length + 1), 0, session.cookie);
          const answer = await sessionOf(cookies);
          expect(answer.status, answer.raw).toBe(200);
          expect(answer.body).toMatchObject({ authenticated: true, claims: { sub: 'katherine.johnson' } });
          // An authenticated answer writes and clears nothing: the session is not touched.
          expect(answer.setCookies).toEqual([]);
        }),
        fcOptions(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'any change to the session cookie\'s value: authenticated:false, never a 5xx',
    async () => {
      const value = session.cookie.slice(SESSION.length + 1);
      await fc.assert(
        fc.asyncProperty(mutation, fc.array(junk, { maxLength: 4 }), async (change, others) => {
          const changed = mutate(value, change);
          fc.pre(changed !== value);
          const answer = await sessionOf([...others, `${SESSION}=${changed}`]);
          expect(answer.status, answer.raw).toBe(200);
          expect(answer.body).toEqual({ authenticated: false });
        }),
        fcOptions(300),
      );
      // The real one still opens: nothing above poisoned the key ring.
      expect((await sessionOf([session.cookie])).body).toMatchObject({ authenticated: true });
    },
    PROPERTY_TIMEOUT_MS,
  );
});

describe('nothing leaks', () => {
  it('no leaks: no cookie value, token, code or stack trace in any log line or answer above', () => {
    stopWatching();
    const report = leaks.report();
    expect(report.answers).toBeGreaterThan(600);
    expect(report.requestLogLines).toBeGreaterThan(600);
    expect(report.findings).toEqual([]);
  });
});
