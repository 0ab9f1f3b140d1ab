import type { MiddlewareHandler } from 'hono';
import { secretsManagerClient } from '../adapters/aws-clients.ts';
import { OriginSecretSource } from '../adapters/origin-secret.ts';
import type { Deadline } from '../core/deadline.ts';
import { AccessDeniedError } from '../core/errors.ts';
import { ORIGIN_VERIFY_HEADER } from '../core/origin-verify.ts';
import { errorResponse, startDeadline, type ProxyEnv } from './proxy-app.ts';

/** What the caller is told: the same whatever was wrong, so the answer teaches nothing about the value. */
export const ORIGIN_REFUSED = 'the request did not come through the edge';

/**
 * The frame's first check (functions/app/proxy-app.ts) when ORIGIN_SECRET_ID is set: a request
 * without the edge's header, or with a value that is not the origin secret's, is answered 403
 * `access_denied` before anything else is done: no body read, no KMS, no authorization server. Its
 * WARN log line names the reason, never the value; the secret's read, when its copy has to be
 * loaded, is timed as Secrets Manager's.
 */
export function requireOriginSecret(
  secret: Pick<OriginSecretSource, 'verify'>,
  clock: () => number,
  timeoutMs: number,
): MiddlewareHandler<ProxyEnv> {
  return async (c, next) => {
    // Its signals are shared ones, which need no disposing: the route starts its own deadline.
    const deadline = startDeadline(c, clock, timeoutMs);
    const verdict = await deadline.cached('secrets_manager', (signal) => secret.verify(c.req.header(ORIGIN_VERIFY_HEADER), signal));
    if (verdict === 'verified') return next();
    c.set('answeredError', new AccessDeniedError(`the ${ORIGIN_VERIFY_HEADER} header is ${verdict === 'missing' ? 'missing' : 'wrong'}`));
    return errorResponse(c, new AccessDeniedError(ORIGIN_REFUSED));
  };
}

export interface OriginVerification {
  /** For the app's dependencies: no check when the function runs without the edge. */
  readonly dependencies: { readonly originVerification?: MiddlewareHandler<ProxyEnv> };
  /** Joins the function's cold-start prefetch. */
  readonly prefetch: (deadline: Deadline) => Promise<void>;
}

/** The check a function's configuration asks for (ORIGIN_SECRET_ID), with the real Secrets Manager client. */
export function originVerificationFor(
  config: { readonly originSecretId?: string; readonly upstreamTimeoutMs: number },
  clock: () => number,
): OriginVerification {
  if (config.originSecretId === undefined) return { dependencies: {}, prefetch: async () => undefined };
  const secret = new OriginSecretSource(secretsManagerClient({ timeoutMs: config.upstreamTimeoutMs }), config.originSecretId, clock);
  return {
    dependencies: { originVerification: requireOriginSecret(secret, clock, config.upstreamTimeoutMs) },
    prefetch: (deadline) => secret.prefetch(() => deadline.sharedSignal()),
  };
}
