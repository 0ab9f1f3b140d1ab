import { randomUUID } from 'node:crypto';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { Deadline, REQUEST_BUDGET_MS } from '../core/deadline.ts';
import { InvalidRequestError, NotFoundError, OAuthError, ServerError, type Upstream } from '../core/errors.ts';
import type { KeyFailure, MetricName, Telemetry } from './observability.ts';

export interface ProxyVariables {
  /** Milliseconds per upstream, added up as the adapters report their calls through the deadline. */
  upstreamMs: Partial<Record<Upstream, number>>;
  /** The success metric of this request, set by the route. */
  success?: MetricName;
  /** The request's time budget, disposed of when it is answered. */
  deadline?: Deadline;
  /** JWKS keys that could not be read, set by the route: logged even on a 200. */
  keyFailures?: readonly KeyFailure[];
  /**
   * A failure the route answered in its own way (the bff callback's redirect, a logout whose
   * revocation failed): logged and counted by its own status, not the answer's.
   */
  answeredError?: OAuthError;
}

/** Set by the Lambda adapter's guard on an event it had to clean, with the reason (functions/app/lambda.ts). */
export const MALFORMED_REQUEST = Symbol('malformed request');
/** Set by the same guard with the names of the cookies it dropped as malformed, for the log line. */
export const DROPPED_COOKIES = Symbol('dropped cookies');

export type ProxyEnv = {
  Variables: ProxyVariables;
  Bindings: {
    /** API Gateway's event (hono/aws-lambda): the path and query exactly as sent, before URL normalisation. */
    event?: {
      requestContext?: { requestId?: string };
      rawPath?: string;
      rawQueryString?: string;
      [MALFORMED_REQUEST]?: string;
      [DROPPED_COOKIES]?: readonly string[];
    };
    /** Node's request (@hono/node-server, the local stack): its url is the raw request target. */
    incoming?: { url?: string };
  };
};

export interface ProxyAppOptions {
  readonly telemetry: Telemetry;
  readonly clock: () => number;
  /**
   * Record failures only (and answers with `keyFailures`). For the JWKS, a public GET that CDNs
   * cache: its successes are API Gateway's access log lines, and a line of ours would cost more CPU
   * than the answer itself.
   */
  readonly failuresOnly?: boolean;
  /** Behind the edge: refuses a request without its origin secret before anything else (functions/app/origin-verification.ts). */
  readonly originVerification?: MiddlewareHandler<ProxyEnv>;
}

/**
 * The frame shared by every function: one log line and metrics per request, OAuth-shaped JSON errors
 * with no-store, and no stack trace or exception text in any answer.
 */
export function proxyApp({ telemetry, clock, failuresOnly = false, originVerification }: ProxyAppOptions): Hono<ProxyEnv> {
  const app = new Hono<ProxyEnv>();
  app.use(async (c, next) => {
    const started = clock();
    c.set('upstreamMs', {});
    try {
      await next();
    } finally {
      c.get('deadline')?.dispose();
    }
    const answered = c.error === undefined ? c.get('answeredError') : undefined;
    const failure = c.error === undefined ? answered : asOAuthError(c.error);
    const keyFailures = c.get('keyFailures');
    if (failuresOnly && c.res.status < 400 && keyFailures === undefined) return;
    const droppedCookies = c.env?.event?.[DROPPED_COOKIES];
    telemetry.record({
      requestId: c.env?.event?.requestContext?.requestId ?? randomUUID(),
      method: c.req.method,
      route: c.req.routePath === '/*' ? c.req.path.slice(0, 64) : c.req.routePath,
      status: c.res.status,
      durationMs: clock() - started,
      upstreamMs: c.get('upstreamMs'),
      ...(c.get('success') === undefined || failure !== undefined ? {} : { success: c.get('success') }),
      ...(failure === undefined ? {} : { error: failure.error, errorDescription: failure.description }),
      ...(answered === undefined ? {} : { errorStatus: answered.status }),
      ...(failure?.upstream === undefined ? {} : { upstream: failure.upstream }),
      ...(c.error !== undefined && !(c.error instanceof OAuthError) ? { exception: exceptionName(c.error) } : {}),
      ...(droppedCookies === undefined ? {} : { droppedCookies }),
      ...(keyFailures === undefined ? {} : { keyFailures }),
    });
  });
  if (originVerification !== undefined) app.use(originVerification);
  app.use(async (c, next) => {
    const malformed = c.env?.event?.[MALFORMED_REQUEST];
    if (malformed !== undefined) throw new InvalidRequestError(malformed);
    await next();
  });
  app.notFound((c) => errorResponse(c, new NotFoundError()));
  app.onError((error, c) => errorResponse(c, asOAuthError(error)));
  return app;
}

/** What an answer or a log line says of a failure: an OAuthError as is, anything else a bug (500). */
export function asOAuthError(error: unknown): OAuthError {
  return error instanceof OAuthError ? error : new ServerError('unexpected error');
}

/** An exception's name only: messages can quote data (a JSON.parse error quotes its input). */
function exceptionName(error: unknown): string {
  return error instanceof Error && /^\w{1,64}$/.test(error.name) ? error.name : 'unknown';
}

export function errorResponse(c: Context, error: OAuthError): Response {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  if (error.retryAfter !== undefined) headers['Retry-After'] = String(error.retryAfter);
  return c.json(error.toJSON(), error.status as 400, headers);
}

/**
 * Starts the request's time budget (REQUEST_BUDGET_MS, `perCallMs` per upstream call); the calls
 * made under it add their milliseconds to the request's record, each under its own upstream.
 */
export function startDeadline(c: Context<ProxyEnv>, clock: () => number, perCallMs: number): Deadline {
  const upstreamMs = c.get('upstreamMs');
  const deadline = Deadline.start(clock, REQUEST_BUDGET_MS, perCallMs, (upstream, ms) => {
    upstreamMs[upstream] = (upstreamMs[upstream] ?? 0) + ms;
  });
  c.set('deadline', deadline);
  return deadline;
}
