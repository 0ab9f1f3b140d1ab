import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';

export type ApiGatewayHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

const MALFORMED: APIGatewayProxyResultV2 = {
  statusCode: 400,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify({ error: 'invalid_request', error_description: 'the request could not be read' }),
};

/**
 * hono's aws-lambda adapter, guarded: an event that cannot become a Request (a header value with
 * CR or LF, say) is the caller's fault and gets 400, not an invocation error that API Gateway turns
 * into a 500.
 */
export function lambdaHandler(app: Hono<any>): ApiGatewayHandler {
  const honoHandler = handle(app);
  return async (event, context) => {
    try {
      // hono types the event loosely (body: string | null); API Gateway v2 events are what it reads.
      return (await honoHandler(event as unknown as Parameters<typeof honoHandler>[0], context)) as APIGatewayProxyResultV2;
    } catch {
      return MALFORMED;
    }
  };
}
