import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../functions/core/errors.ts';
import { parseReturnTo, returnToUrl } from '../../functions/core/return-to.ts';
import { anyString, fcOptions, PROPERTY_TIMEOUT_MS } from '../helpers/hostile.ts';

/**
 * return_to (core/return-to.ts) under hostile input, property-based (fast-check, fixed seed: see
 * test/helpers/hostile.ts). The callback's 303 must never leave APP_URL's origin (RFC 9700 4.11:
 * open redirectors), whatever the SPA (or a script in it) sent, and a refusal is always a 400.
 */
const APP_URL = 'https://app.example.com/spa/';
const ORIGIN = 'https://app.example.com';

/** Pieces that build the known open-redirect tricks, and plain path material around them. */
const PIECES = [
  '/', '//', '\\', '/\\', '%5c', '%5C', '%2f', '%2F', '%252f', '%255c', '%25', '%', '.', '..', '%2e', '%2e%2e',
  ':', '@', '?', '#', '&', '=', 'https:', 'http:', 'javascript:', 'data:', 'evil.example', 'app.example.com', '%40',
  '\t', '\n', '\r', '%09', '%0a', '%0d', '%00', '\u0000', ' ', '%20', '\u2215', '\uff0f', '\uff3c', '\u3002', '%ef%bc%8f',
  '%e2%88%95', 'a', 'b', '0', '-', '_', '~', 'é', '%c3%a9', '%zz', '%e0%80%af', '%c0%af',
];
const hostile = () =>
  fc.oneof(
    fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 10 }).map((parts) => parts.join('')),
    fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((parts) => `/${parts.join('')}`),
    anyString(40),
    anyString(40).map((s) => `/${s}`),
  );

/** Every decoding of `s` that succeeds, the raw value first: what a server or router may make of it. */
function decodings(s: string): string[] {
  const out = [s];
  for (let i = 0; i < 5; i += 1) {
    try {
      const next = decodeURIComponent(out.at(-1)!);
      if (next === out.at(-1)) break;
      out.push(next);
    } catch {
      break;
    }
  }
  return out;
}

function outcome(raw: string): { accepted: string } | { refused: InvalidRequestError } {
  try {
    return { accepted: parseReturnTo(raw, APP_URL)! };
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return { refused: error as InvalidRequestError };
  }
}

describe('return_to', () => {
  it(
    'anything accepted resolves on APP_URL\'s origin, in every decoding, and the redirect stays there',
    () => {
      fc.assert(
        fc.property(hostile(), (raw) => {
          const result = outcome(raw);
          if ('refused' in result) {
            expect(result.refused.description).toMatch(/^return_to [\x20-\x7e]+$/);
            return;
          }
          expect(result.accepted).toBe(raw);
          for (const decoded of decodings(raw)) {
            expect(new URL(decoded, APP_URL).origin, decoded).toBe(ORIGIN);
            expect(new URL(decoded, 'https://other.example/x/y').origin).toBe('https://other.example');
            expect(decoded).not.toMatch(/^\/[/\\]|\\|[\u0000-\u001f\u007f]/);
          }
          const location = returnToUrl(APP_URL, raw, { error: 'e' });
          expect(new URL(location).origin).toBe(ORIGIN);
          expect(location.startsWith(`${ORIGIN}/`)).toBe(true);
        }),
        fcOptions(2000),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'the known bypasses are refused, with anything after them',
    () => {
      const bypasses = ['//', '/\\', '\\\\', '\\/', '/%5c', '/%5C', '/%2f', '/%2F', '/%252f', '/%255c', '/\t/', '/%09/', '/\n/', '/%0a/', '/\r/',
        'https:', 'http:', 'https:/', 'https://', 'javascript:', ' /', '/ /', '\u2215\u2215', '/\u2215', '/\uff0f', '\uff0f\uff0f', '/%ef%bc%8f', '/%e0%80%af', '/%c0%af'];
      fc.assert(
        fc.property(fc.constantFrom(...bypasses), fc.constantFrom('evil.example', 'evil.example/x', '@evil.example', '%65vil.example'), fc.string({ maxLength: 10 }), (trick, host, tail) => {
          expect('refused' in outcome(`${trick}${host}${tail}`), `${trick}${host}${tail}`).toBe(true);
        }),
        fcOptions(500),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'what a SPA sends naturally (location.pathname + search + hash) is accepted as is',
    () => {
      const safe = fc.string({ unit: fc.constantFrom(...'abcXYZ019-._~!$&\'()*+,;=:@'.split(''), '%20', '%C3%A9'), minLength: 1, maxLength: 12 });
      fc.assert(
        fc.property(fc.array(safe, { maxLength: 5 }), fc.boolean(), fc.option(fc.array(fc.tuple(safe, safe), { maxLength: 3 })), fc.option(safe), (segments, slash, query, hash) => {
          const url = new URL(APP_URL);
          url.pathname = `/${segments.join('/')}${slash ? '/' : ''}`;
          if (query !== null) url.search = query.map(([k, v]) => `${k}=${v}`).join('&');
          if (hash !== null) url.hash = hash;
          const natural = `${url.pathname}${url.search}${url.hash}`;
          fc.pre(!natural.startsWith('//'));
          expect(parseReturnTo(natural, APP_URL)).toBe(natural);
          expect(returnToUrl(APP_URL, natural)).toBe(url.href);
        }),
        fcOptions(500),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
