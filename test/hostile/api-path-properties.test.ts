import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseApiUpstreams, resolveApiTarget } from '../../functions/core/api-path.ts';
import { InvalidRequestError } from '../../functions/core/errors.ts';
import { anyString, fcOptions, PROPERTY_TIMEOUT_MS } from '../helpers/hostile.ts';

/**
 * The API path (core/api-path.ts) under hostile input, property-based (fast-check, fixed seed: see
 * test/helpers/hostile.ts). RFC 10017 6.1: a BFF's dynamic routes must not reach anything but the
 * allow-listed destination. Whatever the rest of the path, an accepted one stays under its upstream's
 * base, as the URL parser normalises it (RFC 3986 5.2.4) and as a server that decodes it once more
 * would see it; a refusal is always a 400.
 */
const upstreams = parseApiUpstreams(
  JSON.stringify({ demo: 'http://127.0.0.1:4000/api/v1', root: 'https://api.example.com' }),
  'API_UPSTREAMS',
);

const PIECES = [
  '/', '//', '.', '..', '%2e', '%2E', '%2e%2e', '.%2e', '%2e.', '\\', '%5c', '%5C', '%2f', '%2F', ';', '..;', ';x=1', '%3b',
  '%00', '%0a', '%0d', '%09', '%7f', '%25', '%252e', '%252e%252e', '%252f', '%', '%2', '%zz', '?', '#', '@', ':', '~', '-', '_', '!', '$',
  '&', "'", '(', ')', '*', '+', ',', '=', '%20', ' ', '\t', '\u0000', 'é', '%c3%a9', '\uff0e', '%ef%bc%8e', '%ef%bc%8f', '%ef%bc%9b', 'a', 'b', 'admin',
  'v1', 'api', '127.0.0.1',
];
const hostileRest = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((parts) => parts.join('')) },
    { weight: 1, arbitrary: anyString(40) },
  );
const query = () =>
  fc.oneof(fc.constant(''), fc.array(fc.constantFrom('a=1', 'b', '&', '=', '%20', '..', '/', '?', "'", '#', ' ', '%2f'), { maxLength: 5 }).map((p) => p.join('')));

/** `segment` as a server that decodes percent-encoding sees it: `..;x` counts as `..` (Tomcat). */
const isDotSegment = (segment: string): boolean => {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    decoded = segment.replace(/%2e/gi, '.');
  }
  const core = decoded.normalize('NFKC').split(';')[0];
  return core === '.' || core === '..';
};

describe('the API path', () => {
  it(
    'nothing accepted escapes the base, before or after normalisation or one more decoding',
    () => {
      fc.assert(
        fc.property(fc.constantFrom('demo', 'root'), hostileRest(), query(), (name, rest, q) => {
          let url: string;
          try {
            url = resolveApiTarget(upstreams, name, rest, q, 'GET').url;
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidRequestError);
            expect((error as InvalidRequestError).status).toBe(400);
            return;
          }
          const base = new URL(upstreams.get(name)!.base);
          const basePath = base.pathname.replace(/\/$/, '');
          expect(url).toBe(`${upstreams.get(name)!.base}/${rest}${q === '' ? '' : `?${q}`}`);
          const parsed = new URL(url);
          expect(parsed.origin).toBe(base.origin);
          expect(parsed.pathname.startsWith(`${basePath}/`)).toBe(true);
          // The parser changed nothing: no dot segment was there to apply.
          expect(parsed.pathname).toBe(`${basePath}/${rest}`);
          expect(parsed.pathname.split('/').some(isDotSegment)).toBe(false);
          // A server that decodes once more still sees a path under the base, with no dot segment.
          const decodedOnce = decodeURIComponent(rest);
          expect(new URL(`${basePath}/${decodedOnce}`, base).pathname.startsWith(`${basePath}/`)).toBe(true);
          expect(decodedOnce.split('/').some(isDotSegment)).toBe(false);
          expect(decodedOnce).not.toMatch(/[\\\u0000-\u001f\u007f]|\/\//);
        }),
        fcOptions(3000),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'a dot segment, raw or encoded, anywhere, is refused',
    () => {
      const safe = fc.stringMatching(/^[a-z0-9_~-]{1,6}$/);
      const dots = fc.constantFrom('..', '.', '%2e%2e', '%2E%2e', '.%2E', '%2e', '..;', '..;x=1', '%2e%2e;');
      fc.assert(
        fc.property(fc.array(safe, { maxLength: 3 }), dots, fc.array(safe, { maxLength: 3 }), fc.boolean(), (before, dot, after, slash) => {
          const rest = [...before, dot, ...after].join('/') + (slash ? '/' : '');
          expect(() => resolveApiTarget(upstreams, 'demo', rest, '', 'GET')).toThrow(InvalidRequestError);
        }),
        fcOptions(500),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'plain paths are forwarded exactly',
    () => {
      const segment = fc.string({ unit: fc.constantFrom(...'abcXYZ019-._~!$&\'()*+,=:@'.split(''), '%20', '%C3%A9', '%2e'), minLength: 1, maxLength: 10 })
        .filter((s) => !isDotSegment(s));
      fc.assert(
        fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.boolean(), (segments, slash) => {
          const rest = segments.join('/') + (slash ? '/' : '');
          expect(resolveApiTarget(upstreams, 'demo', rest, 'x=1', 'GET').url).toBe(`http://127.0.0.1:4000/api/v1/${rest}?x=1`);
        }),
        fcOptions(500),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
