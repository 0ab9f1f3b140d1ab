import { InvalidSetting, url as urlRule } from '../settings/rules.ts';
import { ConfigError, InvalidRequestError, NotFoundError, OAuthError } from './errors.ts';

/**
 * ANY /api/{name}/{path}: which upstream a call goes to, and the exact URL. RFC 10017 6.1: a BFF
 * MUST allow-list its destinations and validate dynamic routes, or it is an SSRF gadget holding the
 * user's access token. The upstream comes from API_UPSTREAMS by name only; the path is refused (400)
 * when it could leave the upstream's base or mean something else to a server behind it: dot segments
 * raw, percent-encoded or as fullwidth lookalikes (RFC 3986 5.2.4), also before a `;` (Tomcat's
 * `/..;/`), empty segments, backslashes, encoded slashes and backslashes (they change routing
 * upstream), encoded percent signs (a second decoding), controls, and anything RFC 3986 3.3 would
 * percent-encode.
 *
 * `rest` must be the raw path as the browser sent it (API Gateway's rawPath), not a router's
 * decoded or normalised copy: normalisation would already have applied the `..`.
 */
export const API_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export interface ApiUpstream {
  readonly name: string;
  /** Origin and path, without a trailing slash. */
  readonly base: string;
  readonly methods: readonly string[];
}

export type ApiUpstreams = ReadonlyMap<string, ApiUpstream>;

/** 405: the upstream does not take this method; the answer carries `Allow: allow.join(', ')` (RFC 9110 15.5.6). */
export class MethodNotAllowedError extends OAuthError {
  override readonly name = 'MethodNotAllowedError';
  constructor(readonly allow: readonly string[]) {
    super(405, 'invalid_request', 'the API does not accept this method');
  }
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAX_PATH = 4096;
/** RFC 3986 3.3 pchar and `/`: unreserved, sub-delims, `:`, `@` and percent-encodings. */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
/** RFC 3986 3.4: pchar, `/` and `?`; passed on as sent. */
const QUERY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;
const ENCODED = /%(.{0,2})/g;

/** API_UPSTREAMS: `{"name": "https://base"}` or `{"name": {"url": "https://base", "methods": [...]}}`. */
export function parseApiUpstreams(json: string | undefined, variable: string): ApiUpstreams {
  const upstreams = new Map<string, ApiUpstream>();
  if (json === undefined || json.trim() === '') return upstreams;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ConfigError(variable, 'must be a JSON object of API names to base URLs');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(variable, 'must be a JSON object of API names to base URLs');
  }
  for (const [name, entry] of Object.entries(parsed)) {
    if (!NAME.test(name)) throw new ConfigError(variable, `${JSON.stringify(name.slice(0, 64))} is not an API name (${NAME.source})`);
    upstreams.set(name, upstream(name, entry, variable));
  }
  return upstreams;
}

function upstream(name: string, entry: unknown, variable: string): ApiUpstream {
  let url: unknown = entry;
  let methods: unknown;
  if (typeof entry !== 'string') {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || Object.keys(entry).some((key) => key !== 'url' && key !== 'methods')) {
      throw new ConfigError(variable, `${name} must be a URL or {"url", "methods"}`);
    }
    ({ url, methods } = entry as { url?: unknown; methods?: unknown });
  }
  if (typeof url !== 'string') throw new ConfigError(variable, `${name} needs a url`);
  let parsed: URL;
  try {
    parsed = new URL(urlRule(url, { deployment: false }));
  } catch (error) {
    if (error instanceof InvalidSetting) throw new ConfigError(variable, `${name}: ${error.message}`);
    throw error;
  }
  if (parsed.username !== '' || parsed.password !== '') throw new ConfigError(variable, `${name}: the URL must not carry credentials`);
  if (parsed.search !== '' || url.includes('?')) throw new ConfigError(variable, `${name}: the URL must not have a query`);
  return { name, base: `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`, methods: allowedMethods(name, methods, variable) };
}

function allowedMethods(name: string, methods: unknown, variable: string): readonly string[] {
  if (methods === undefined) return [...API_METHODS];
  const known = new Set<string>(API_METHODS);
  if (
    !Array.isArray(methods) ||
    methods.length === 0 ||
    methods.some((method) => typeof method !== 'string' || !known.has(method)) ||
    new Set(methods).size !== methods.length
  ) {
    throw new ConfigError(variable, `${name}: methods must be distinct values of ${API_METHODS.join(', ')}`);
  }
  return methods as string[];
}

/**
 * The upstream URL for `method /api/{name}/{rest}?{query}`: the base, `/`, rest and the query as sent.
 * Throws NotFoundError (unknown name), MethodNotAllowedError, or InvalidRequestError (the path or query).
 */
export function resolveApiTarget(
  upstreams: ApiUpstreams,
  name: string,
  rest: string,
  query: string,
  method: string,
): { url: string; upstream: ApiUpstream } {
  const upstream = upstreams.get(name);
  if (upstream === undefined) throw new NotFoundError();
  if (!upstream.methods.includes(method)) throw new MethodNotAllowedError(upstream.methods);
  checkPath(rest);
  if (!QUERY.test(query)) throw new InvalidRequestError('the API query string has characters that must be percent-encoded');

  const url = `${upstream.base}/${rest}${query === '' ? '' : `?${query}`}`;
  // The last line: whatever the checks above missed, the URL parser must agree it stays under the base.
  const base = new URL(upstream.base);
  const resolved = new URL(url);
  if (resolved.origin !== base.origin || !resolved.pathname.startsWith(`${base.pathname.replace(/\/$/, '')}/`)) {
    throw new InvalidRequestError('the API path must stay under the API');
  }
  return { url, upstream };
}

function checkPath(rest: string): void {
  if (rest.length > MAX_PATH) throw new InvalidRequestError(`the API path must be at most ${MAX_PATH} characters`);
  if (!PATH_CHARS.test(rest)) throw new InvalidRequestError('the API path has characters that must be percent-encoded');
  for (const [, hex] of rest.matchAll(ENCODED)) {
    if (hex === undefined || !/^[0-9A-Fa-f]{2}$/.test(hex)) throw new InvalidRequestError('the API path has malformed percent-encoding');
    const code = Number.parseInt(hex, 16);
    if (code === 0x2f || code === 0x5c) throw new InvalidRequestError('the API path must not contain encoded slashes or backslashes');
    if (code === 0x25) throw new InvalidRequestError('the API path must not contain an encoded percent sign');
    if (code < 0x20 || code === 0x7f) throw new InvalidRequestError('the API path must not contain control characters');
  }
  const segments = rest.split('/');
  segments.forEach((segment, i) => {
    if (segment === '' && i < segments.length - 1) throw new InvalidRequestError('the API path must not contain //');
    const seen = decodedSegment(segment);
    const beforeParams = seen.split(';')[0];
    if (beforeParams === '.' || beforeParams === '..') throw new InvalidRequestError('the API path must not contain . or .. segments');
    if (/[/\\]/.test(seen)) throw new InvalidRequestError('the API path must not contain encoded slashes or backslashes');
  });
}

/**
 * A segment as a server behind the API may read it: percent-decoded (only `%2e` and `%3b` when the
 * rest is not UTF-8) and NFKC-normalised, as best-fit mappings do (`%EF%BC%8E` is a fullwidth dot).
 */
function decodedSegment(segment: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    decoded = segment.replace(/%2e/gi, '.').replace(/%3b/gi, ';');
  }
  return decoded.normalize('NFKC');
}
