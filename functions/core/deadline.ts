/**
 * A request's time budget. Every upstream call gets min(per-call timeout, time left), so a request
 * ends inside the function timeout however many retries it makes.
 */
export class Deadline {
  private timers?: ReturnType<typeof setTimeout>[];

  private constructor(
    private readonly clock: () => number,
    private readonly endsAt: number,
    private readonly perCallMs: number,
  ) {}

  static start(clock: () => number, budgetMs: number, perCallMs: number): Deadline {
    return new Deadline(clock, clock() + budgetMs, perCallMs);
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
