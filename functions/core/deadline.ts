import type { Upstream } from './errors.ts';

/** Where a request's upstream calls report their milliseconds: its log line (functions/app/proxy-app.ts). */
export type UpstreamTimer = (upstream: Upstream, ms: number) => void;

/**
 * A request's time budget. Every upstream call gets min(per-call timeout, time left), so a request
 * ends inside the function timeout however many retries it makes. It goes with the request to every
 * adapter, so the adapters also report through it how long each upstream took, without knowing
 * where that goes.
 */
export class Deadline {
  private timers?: ReturnType<typeof setTimeout>[];

  private constructor(
    private readonly clock: () => number,
    private readonly endsAt: number,
    private readonly perCallMs: number,
    private readonly onUpstream?: UpstreamTimer,
  ) {}

  static start(clock: () => number, budgetMs: number, perCallMs: number, onUpstream?: UpstreamTimer): Deadline {
    return new Deadline(clock, clock() + budgetMs, perCallMs, onUpstream);
  }

  /** Runs a call to `upstream` and reports its duration. */
  async timed<T>(upstream: Upstream, call: () => Promise<T>): Promise<T> {
    const started = this.clock();
    try {
      return await call();
    } finally {
      this.onUpstream?.(upstream, this.clock() - started);
    }
  }

  /**
   * Reads a value a cache keeps: `get` is given the shared signal's factory, which the cache calls
   * only when it loads. Only then was `upstream` called, and only then is the duration reported: a
   * cache hit is no upstream latency, not even a 0.
   */
  async cached<T>(upstream: Upstream, get: (signal: () => AbortSignal) => Promise<T>): Promise<T> {
    const started = this.clock();
    let called = false;
    try {
      return await get(() => {
        called = true;
        return this.sharedSignal();
      });
    } finally {
      if (called) this.onUpstream?.(upstream, this.clock() - started);
    }
  }

  remaining(): number {
    return Math.max(0, this.endsAt - this.clock());
  }

  /** Milliseconds the next upstream call may take. */
  callTimeout(): number {
    return Math.min(this.perCallMs, this.remaining());
  }

  /** An AbortSignal for a call this request makes itself; `dispose` clears its timer. */
  signal(): AbortSignal {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      Math.max(1, this.callTimeout()),
    );
    (this.timers ??= []).push(timer);
    return controller.signal;
  }

  /** An AbortSignal for a load a cache shares, which may outlive this request: never cleared. */
  sharedSignal(): AbortSignal {
    return AbortSignal.timeout(Math.max(1, this.callTimeout()));
  }

  /** The request is answered: its calls' timers are cleared rather than left to run out. */
  dispose(): void {
    for (const timer of this.timers ?? []) clearTimeout(timer);
    this.timers = undefined;
  }
}

/** The whole request's budget: a 10 s function timeout, less room to answer and log. */
export const REQUEST_BUDGET_MS = 8000;
