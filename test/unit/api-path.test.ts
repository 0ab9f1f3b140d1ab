import { describe, expect, it } from 'vitest';
import { MethodNotAllowedError, parseApiUpstreams, resolveApiTarget } from '../../functions/core/api-path.ts';
import { ConfigError, InvalidRequestError, NotFoundError } from '../../functions/core/errors.ts';

/**
 * ANY /api/{name}/{path} (BFF.md): the upstream is allow-listed by name (RFC 10017 6.1: a BFF MUST
 * allow-list its destinations), and the path is checked so that it cannot leave the upstream's base
 * (RFC 3986 5.2.4 dot segments, in raw and percent-encoded form; encoded slashes and backslashes).
 */
const upstreams = parseApiUpstreams(
  JSON.stringify({
    demo: 'http://127.0.0.1:4000/api/',
    orders: { url: 'https://orders.example.com/v1', methods: ['GET', 'POST'] },
    root: 'https://root.example.com',
  }),
  'API_UPSTREAMS',
);

const configError = (json: string): ConfigError => {
  try {
    parseApiUpstreams(json, 'API_UPSTREAMS');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('API_UPSTREAMS');
    return error as ConfigError;
  }
  throw new Error(`accepted ${json}`);
};

describe('parseApiUpstreams', () => {
  it('reads names to base URLs, or to {url, methods}, with the default methods', () => {
    expect([...upstreams.values()]).toEqual([
      { name: 'demo', base: 'http://127.0.0.1:4000/api', methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] },
      { name: 'orders', base: 'https://orders.example.com/v1', methods: ['GET', 'POST'] },
      { name: 'root', base: 'https://root.example.com', methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] },
    ]);
  });

  it('is empty when not set', () => {
    expect(parseApiUpstreams(undefined, 'API_UPSTREAMS').size).toBe(0);
    expect(parseApiUpstreams('  ', 'API_UPSTREAMS').size).toBe(0);
    expect(parseApiUpstreams('{}', 'API_UPSTREAMS').size).toBe(0);
  });

  it.each([
    ['not JSON', '{demo: 1}'],
    ['an array', '["http://127.0.0.1/api"]'],
    ['a bad name', '{"Demo": "https://a.example"}'],
    ['a name with a slash', '{"a/b": "https://a.example"}'],
    ['a name too long', `{"${'a'.repeat(64)}": "https://a.example"}`],
    ['__proto__', '{"__proto__": "https://a.example"}'],
    ['a number', '{"demo": 42}'],
    ['http off loopback', '{"demo": "http://api.example.com"}'],
    ['a relative URL', '{"demo": "/api"}'],
    ['a query', '{"demo": "https://a.example/api?x=1"}'],
    ['an empty query', '{"demo": "https://a.example/api?"}'],
    ['a fragment', '{"demo": "https://a.example/api#x"}'],
    ['credentials', '{"demo": "https://user:pass@a.example/api"}'],
    ['an unknown field', '{"demo": {"url": "https://a.example", "headers": {}}}'],
    ['no url', '{"demo": {"methods": ["GET"]}}'],
    ['empty methods', '{"demo": {"url": "https://a.example", "methods": []}}'],
    ['a lower-case method', '{"demo": {"url": "https://a.example", "methods": ["get"]}}'],
    ['an unknown method', '{"demo": {"url": "https://a.example", "methods": ["TRACE"]}}'],
    ['a repeated method', '{"demo": {"url": "https://a.example", "methods": ["GET", "GET"]}}'],
  ])('refuses %s, naming the variable', (_, json) => {
    configError(json);
  });

  it('does not quote credentials in its error', () => {
    expect(configError('{"demo": "https://user:s3cret@a.example/api"}').message).not.toContain('s3cret');
  });
});

describe('resolveApiTarget', () => {
  const target = (name: string, rest: string, query = '', method = 'GET') => resolveApiTarget(upstreams, name, rest, query, method);
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      return error;
    }
    throw new Error('accepted');
  };

  it('is the base URL + / + the path + the query', () => {
    expect(target('demo', 'items/42', 'expand=all&x=%20')).toEqual({ url: 'http://127.0.0.1:4000/api/items/42?expand=all&x=%20', upstream: upstreams.get('demo') });
    expect(target('root', 'a/b/').url).toBe('https://root.example.com/a/b/');
    expect(target('demo', '').url).toBe('http://127.0.0.1:4000/api/');
    expect(target('demo', 'x', "q='a'&r=/s?t").url).toBe("http://127.0.0.1:4000/api/x?q='a'&r=/s?t"); // as sent
    expect(target('orders', "a-b_c.d~e!$&'()*+,;=:@%20%2e").url).toBe("https://orders.example.com/v1/a-b_c.d~e!$&'()*+,;=:@%20%2e");
  });

  it('answers 404 for an unknown name', () => {
    for (const name of ['nope', 'Demo', '', '..', '__proto__', 'constructor']) {
      expect(refusal(() => target(name, 'x'))).toBeInstanceOf(NotFoundError);
    }
  });

  it('answers 405 with the allowed methods for another method', () => {
    const error = refusal(() => target('orders', 'x', '', 'DELETE')) as MethodNotAllowedError;
    expect(error).toBeInstanceOf(MethodNotAllowedError);
    expect(error.status).toBe(405);
    expect(error.allow).toEqual(['GET', 'POST']);
    expect(refusal(() => target('demo', 'x', '', 'get'))).toBeInstanceOf(MethodNotAllowedError);
  });

  it.each([
    '..', '../admin', 'a/../../admin', 'a/..', '.', './a', 'a/./b',
    '%2e%2e/admin', '%2E%2E/admin', '.%2e/admin', '%2e./admin', '%2e', 'a/%2e%2e',
    '..;/admin', '%2e%2e;x=1/admin', '.;/a', '.%2e%3b/admin', '..%3Bx/admin', '%ef%bc%8e%ef%bc%8e/admin', 'a%ef%bc%8fb', '%EF%BC%8E',
    '/admin', 'a//b', '//evil.example/x',
    'a\\..\\admin', 'a%5c..%5cadmin', 'a%5Cb', '%2fadmin', 'a%2Fb',
    'a%00b', 'a%0d%0aX-Injected:%201', 'a%7f', 'a\u0000b', 'a\tb', 'a b',
    '%252e%252e/admin', 'a%25b', 'a%zzb', 'a%2', 'a%', 'é', 'a?b', 'a#b', `${'a'.repeat(4097)}`,
  ])('answers 400 for the path %j', (rest) => {
    const error = refusal(() => target('demo', rest)) as InvalidRequestError;
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.description).not.toContain('admin');
  });

  it.each(['a#b', 'a b', 'a\r\nb', 'é', 'a"b', 'a<b>'])('answers 400 for the query %j', (query) => {
    expect(refusal(() => target('demo', 'x', query))).toBeInstanceOf(InvalidRequestError);
  });
});
