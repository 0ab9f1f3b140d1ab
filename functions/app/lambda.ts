import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';

export type ApiGatewayHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

const MALFORMED: APIGatewayProxyResultV2 = {
  statusCode: 400,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify({ error: 'invalid_request', error_description: 'the request headers are malformed' }),
};

/** RFC 9110 5.1 and 5.5: a header name is a token, a value has no CR, LF or NUL. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function wellFormedHeaders(headers: APIGatewayProxyEventV2['headers'] | undefined): boolean {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!HEADER_NAME.test(name) || (value !== undefined && !HEADER_VALUE.test(value))) return false;
  }
  return true;
}

/**
 * hono's aws-lambda adapter behind a guard: headers that cannot become a Request (CR or LF in a
 * value, say) are the caller's fault and get a JSON 400 here, before the adapter would log the
 * error with its stack trace.
 */
export function lambdaHandler(app: Hono<any>): ApiGatewayHandler {
  const honoHandler = handle(app);
  return async (event, context) => {
    if (!wellFormedHeaders(event.headers)) return MALFORMED;
    // hono types the event loosely (body: string | null); API Gateway v2 events are what it reads.
    return (await honoHandler(event as unknown as Parameters<typeof honoHandler>[0], context)) as APIGatewayProxyResultV2;
  };
}
