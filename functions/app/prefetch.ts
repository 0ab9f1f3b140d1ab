import { Deadline } from '../core/deadline.ts';

/** Time a prefetch may take during INIT (Lambda allows 10 s): well short of it. */
const PREFETCH_BUDGET_MS = 2500;

/**
 * Loads a function's caches (secret, discovery document, kid) in parallel, as Lambda initialises
 * the container, so that the first request makes only the calls every request makes. A failure is
 * not kept: the first request tries again.
 */
export async function prefetch(
  clock: () => number,
  upstreamTimeoutMs: number,
  loads: readonly ((deadline: Deadline) => Promise<unknown>)[],
): Promise<void> {
  const deadline = Deadline.start(clock, PREFETCH_BUDGET_MS, Math.min(upstreamTimeoutMs, PREFETCH_BUDGET_MS));
  await Promise.allSettled(loads.map((load) => load(deadline)));
  deadline.dispose();
}

/** Prefetching only in Lambda: tests and build checks import the handlers with no AWS behind them. */
export const inLambda = (env: Readonly<Record<string, string | undefined>>): boolean =>
  env.AWS_LAMBDA_FUNCTION_NAME !== undefined;
