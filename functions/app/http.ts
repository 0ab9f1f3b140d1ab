import type { Context, MiddlewareHandler } from 'hono';
import {
  AccessDeniedError,
  InvalidRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../core/errors.ts';

/** Stateless without `stream`, so one decoder serves every request. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The largest request body accepted, after API Gateway's base64 decoding. */
export const MAX_BODY_BYTES = 8 * 1024;

/**
 * The request body as JSON: `application/json` (parameters such as charset allowed), at most
 * MAX_BODY_BYTES, valid UTF-8, a JSON value. Anything else is refused before any other work.
 */
export async function readJsonBody(c: Context): Promise<unknown> {
  const mediaType = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') throw new UnsupportedMediaTypeError();
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  const bytes = await c.req.arrayBuffer();
  if (bytes.byteLength > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  if (bytes.byteLength === 0) throw new InvalidRequestError('the body is empty');
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new InvalidRequestError('the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidRequestError('the body is not valid JSON');
  }
}

/** CORS for the bff's cookie-carrying calls: credentials, and the X-CSRF header in preflights. */
export interface OriginCheckOptions {
  readonly credentials?: boolean;
  /** Access-Control-Allow-Headers; `content-type` by default. */
  readonly allowHeaders?: string;
  /** Access-Control-Expose-Headers of the answers (relay's DPoP-Nonce); none by default. */
  readonly exposeHeaders?: string;
}

/**
 * Browser callers must come from an allowed Origin (exact match): it is echoed with Vary: Origin and
 * its preflight answered. A disallowed Origin gets 403 and no CORS headers. A request without
 * Origin is allowed: non-browser callers could forge one anyway.
 */
/** The refusal's description: it names no allowed origin (the local stack adds them, local/origin-hint.ts). */
export const ORIGIN_NOT_ALLOWED = 'the Origin is not allowed';

export function originCheck(allowedOrigins: ReadonlySet<string>, methods: string, options: OriginCheckOptions = {}): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin === undefined) return next();
    if (!allowedOrigins.has(origin)) throw new AccessDeniedError(ORIGIN_NOT_ALLOWED);
    c.header('Access-Control-Allow-Origin', origin);
    c.header('Vary', 'Origin');
    if (options.credentials === true) c.header('Access-Control-Allow-Credentials', 'true');
    if (options.exposeHeaders !== undefined) c.header('Access-Control-Expose-Headers', options.exposeHeaders);
    if (c.req.method === 'OPTIONS') {
      c.header('Access-Control-Allow-Methods', methods);
      c.header('Access-Control-Allow-Headers', options.allowHeaders ?? 'content-type');
      c.header('Access-Control-Max-Age', '600');
      return c.body(null, 204);
    }
    return next();
  };
}

/**
 * RFC 10017 6.1.3.3: every route JavaScript calls requires the static header `X-CSRF: 1`. A
 * cross-origin page cannot send it without a CORS preflight, which the Origin check refuses; a
 * simple request (a form, a body-less POST) cannot carry it at all. hono's csrf() checks only form
 * content types, so it is no substitute. Runs after the Origin check, which answers preflights.
 */
export const CSRF_HEADER = 'x-csrf';

export function requireCsrfHeader(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.header(CSRF_HEADER) !== '1') throw new AccessDeniedError('the X-CSRF: 1 header is required');
    return next();
  };
}
