/**
 * A request's time budget. Every upstream call gets min(per-call timeout, time left), so a request
 * ends inside the function timeout however many retries it makes.
 */
export class Deadline {
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

  /** An AbortSignal that fires when the next call has used its time. */
  signal(): AbortSignal {
    return AbortSignal.timeout(Math.max(1, this.callTimeout()));
  }
}

/** The whole request's budget: a 10 s function timeout, less room to answer and log. */
export const REQUEST_BUDGET_MS = 8000;
