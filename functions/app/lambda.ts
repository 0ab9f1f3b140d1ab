import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { MALFORMED_REQUEST } from './proxy-app.ts';

export type ApiGatewayHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** RFC 9110 5.1 and 5.5: a header name is a token, a value has no CR, LF or NUL. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

// Node 20 loads undici on the first Request or Response, which hono's adapter builds on every
// invocation: pay for it during INIT, not in the first request.
new Response(null);

/**
 * What hono's adapter could not turn into a Request (a header value with CR or LF, a body on a GET,
 * base64 that is not) is left out, and the event marked: the app then answers a JSON 400, logged
 * and counted like any refusal, where the adapter would answer plain text or a 500 and log a stack
 * trace.
 */
export function sanitizeEvent(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 & { [MALFORMED_REQUEST]?: string } {
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
  return { ...event, headers, body, isBase64Encoded, ...(malformed === undefined ? {} : { [MALFORMED_REQUEST]: malformed }) };
}

/** hono's aws-lambda adapter behind `sanitizeEvent`. */
export function lambdaHandler(app: Hono<any>): ApiGatewayHandler {
  const honoHandler = handle(app);
  return async (event, context) =>
    // hono types the event loosely (body: string | null); API Gateway v2 events are what it reads.
    (await honoHandler(sanitizeEvent(event) as unknown as Parameters<typeof honoHandler>[0], context)) as APIGatewayProxyResultV2;
}
