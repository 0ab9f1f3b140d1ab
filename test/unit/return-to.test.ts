import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../functions/core/errors.ts';
import { MAX_RETURN_TO, parseReturnTo, returnToUrl } from '../../functions/core/return-to.ts';

/**
 * return_to (BFF.md): a path on APP_URL's origin, so that the callback's 303 is never an open
 * redirect (RFC 9700 4.11, OWASP unvalidated redirects). The URL parser is the WHATWG one, as in
 * the browser that follows the Location header.
 */
const APP_URL = 'https://app.example.com';

const refused = (raw: unknown): InvalidRequestError => {
  try {
    parseReturnTo(raw, APP_URL);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return error as InvalidRequestError;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
};

describe('parseReturnTo', () => {
  it.each(['/', '/dashboard', '/a/b?c=d&e=%20f#section', '/#/hash-route', '/search?q=a%2Fb', '/a//b', '/100%25', '/a/../b', '/@evil.example'])(
    'accepts the path %s',
    (path) => {
      expect(parseReturnTo(path, APP_URL)).toBe(path);
    },
  );

  it('is absent when not sent', () => {
    expect(parseReturnTo(undefined, APP_URL)).toBeUndefined();
  });

  it.each([
    '//evil.example',
    '//evil.example/path',
    '/\\evil.example',
    '\\\\evil.example',
    '/%5cevil.example',
    '/%5Cevil.example',
    '/%2fevil.example',
    '/%2F%2Fevil.example',
    '/%252fevil.example',
    '/%25255cevil.example',
    '/\t/evil.example',
    '/%09/evil.example',
    '/\n/evil.example',
    '/%0d%0aLocation:%20https://evil.example',
    '/%00',
    'https:evil.example',
    'https://evil.example',
    'javascript:alert(1)',
    'evil.example',
    '',
    ' /x',
    '/x y',
    '/\u2215\u2215evil.example',
    '/\uff0f\uff0fevil.example',
    '/\u3002evil',
    '/%ef%bc%8f%ef%bc%8fevil.example',
    '/%E2%88%95evil.example',
    '/a\\b',
    '/a%5cb',
    '/%zz',
    '/%e0%80%af',
    `/${'a'.repeat(MAX_RETURN_TO)}`,
  ])('refuses %j', (raw) => {
    const error = refused(raw);
    expect(error.description).toMatch(/^return_to /);
    expect(error.description).not.toContain('evil');
  });

  it.each([null, 42, ['/'], { path: '/' }])('refuses a non-string %j', (raw) => {
    refused(raw);
  });

  it('takes up to 512 characters: four login cookies must stay well inside API Gateway\'s 10 KiB of headers', () => {
    expect(MAX_RETURN_TO).toBe(512);
    const longest = `/${'a'.repeat(MAX_RETURN_TO - 1)}`;
    expect(parseReturnTo(longest, APP_URL)).toBe(longest);
    refused(`${longest}a`);
  });
});

describe('returnToUrl', () => {
  it('resolves return_to on APP_URL\'s origin, or answers APP_URL itself', () => {
    expect(returnToUrl(APP_URL, '/a/b?c=1#d')).toBe('https://app.example.com/a/b?c=1#d');
    expect(returnToUrl(APP_URL, undefined)).toBe('https://app.example.com/');
    expect(returnToUrl('https://app.example.com/spa/', undefined)).toBe('https://app.example.com/spa/');
    expect(returnToUrl('https://app.example.com/spa/', '/other')).toBe('https://app.example.com/other');
  });

  it('adds error parameters to the query, before the fragment, replacing any the path had', () => {
    const url = new URL(returnToUrl(APP_URL, '/page?x=1&error=old#frag', { error: 'access_denied', error_description: 'the user said no' }));
    expect(url.origin + url.pathname).toBe('https://app.example.com/page');
    expect(url.searchParams.getAll('error')).toEqual(['access_denied']);
    expect(url.searchParams.get('error_description')).toBe('the user said no');
    expect(url.searchParams.get('x')).toBe('1');
    expect(url.hash).toBe('#frag');
  });

  it('never leaves APP_URL\'s origin, even for a value that skipped parseReturnTo', () => {
    expect(returnToUrl(APP_URL, '//evil.example/x')).toBe('https://app.example.com/');
    expect(returnToUrl(APP_URL, 'https://evil.example/x', { error: 'e' })).toBe('https://app.example.com/?error=e');
  });
});
