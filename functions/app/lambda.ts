import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { fieldName } from '../core/validation.ts';
import { DROPPED_COOKIES, MALFORMED_REQUEST } from './proxy-app.ts';

export type ApiGatewayHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** RFC 9110 5.1, 5.5 and 5.6.2: a header name is a token, a value has no CR, LF or NUL. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const HEADER_NAME = new RegExp(`^${TOKEN}$`);
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** RFC 6265 4.1.1: cookie-pair = cookie-name "=" cookie-value; a name is a token, a value cookie-octets, maybe in DQUOTEs. */
const COOKIE_OCTETS = '[\\x21\\x23-\\x2b\\x2d-\\x3a\\x3c-\\x5b\\x5d-\\x7e]*';
const COOKIE_PAIR = new RegExp(`^${TOKEN}=(?:${COOKIE_OCTETS}|"${COOKIE_OCTETS}")$`);
/** RFC 4648 4: whole groups of four, padding only in the last; `atob` would throw, or forgive what is not base64. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Dropped cookie names logged per request, at most. */
const MAX_DROPPED_NAMES = 10;

// Node 20 loads undici on the first Request or Response, which hono's adapter builds on every
// invocation: pay for it during INIT, not in the first request.
new Response(null);

type SanitizedEvent = APIGatewayProxyEventV2 & { [MALFORMED_REQUEST]?: string; [DROPPED_COOKIES]?: readonly string[] };

/**
 * What hono's adapter could not turn into a Request (a header value with CR or LF, a body on a GET,
 * base64 that is not) is left out, and the event marked: the app then answers a JSON 400, logged
 * and counted like any refusal, where the adapter would answer plain text or a 500 and log a stack
 * trace. A cookie that is not a cookie-pair is only dropped, and its name noted for the log line:
 * another application's cookie on the same site must not break the proxy.
 */
export function sanitizeEvent(event: APIGatewayProxyEventV2): SanitizedEvent {
  let malformed: string | undefined;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value === undefined) continue;
    if (HEADER_NAME.test(name) && HEADER_VALUE.test(value)) headers[name] = value;
    else malformed = 'the request headers are malformed';
  }
  const method = event.requestContext?.http?.method;
  let body = event.body;
  let isBase64Encoded = event.isBase64Encoded;
  if (method === 'GET' || method === 'HEAD') {
    body = undefined;
    isBase64Encoded = false;
  } else if (isBase64Encoded && body !== undefined && !BASE64.test(body)) {
    malformed = 'the body is not valid base64';
    body = undefined;
    isBase64Encoded = false;
  }
  const { cookies, dropped } = sanitizeCookies(event.cookies);
  return {
    ...event,
    headers,
    body,
    isBase64Encoded,
    ...(cookies === undefined ? {} : { cookies }),
    ...(malformed === undefined ? {} : { [MALFORMED_REQUEST]: malformed }),
    ...(dropped.length === 0 ? {} : { [DROPPED_COOKIES]: dropped }),
  };
}

/** The cookie-pairs, and the names of the entries dropped: a name only when it is short and plain, never a value. */
function sanitizeCookies(entries: unknown): { cookies?: string[]; dropped: string[] } {
  if (!Array.isArray(entries)) return { dropped: [] };
  const cookies: string[] = [];
  const dropped: string[] = [];
  for (const entry of entries) {
    if (typeof entry === 'string' && COOKIE_PAIR.test(entry)) cookies.push(entry);
    else if (dropped.length < MAX_DROPPED_NAMES) {
      // With no "=", RFC 6265 5.2 makes the whole entry a value: it is never logged.
      const equals = typeof entry === 'string' ? entry.indexOf('=') : -1;
      dropped.push(fieldName(equals > 0 ? (entry as string).slice(0, equals) : undefined, 'a cookie'));
    }
  }
  return { cookies, dropped };
}

/** hono's aws-lambda adapter behind `sanitizeEvent`. */
export function lambdaHandler(app: Hono<any>): ApiGatewayHandler {
  const honoHandler = handle(app);
  return async (event, context) =>
    // hono types the event loosely (body: string | null); API Gateway v2 events are what it reads.
    (await honoHandler(sanitizeEvent(event) as unknown as Parameters<typeof honoHandler>[0], context)) as APIGatewayProxyResultV2;
}
