/**
 * A single-flight cache of one asynchronous value: concurrent callers share one load, a failed load
 * is never kept (so a fault cannot poison the container), and a value expires after `ttlMs`.
 */
export class AsyncCache<T> {
  private value?: { readonly data: T; readonly expiresAt: number };
  private loading?: Promise<T>;
  private refreshing?: Promise<T>;
  private lastRefresh = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly load: (signal: AbortSignal) => Promise<T>,
    private readonly ttlMs = Number.POSITIVE_INFINITY,
    private readonly clock: () => number = Date.now,
  ) {}

  /** `signal` is called only when the value has to be loaded: a cache hit arms no timer. */
  get(signal: () => AbortSignal): Promise<T> {
    if (this.value !== undefined && this.clock() < this.value.expiresAt) return Promise.resolve(this.value.data);
    this.loading ??= this.load(signal()).then(
      (data) => {
        this.set(data);
        this.loading = undefined;
        return data;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  set(data: T): void {
    this.value = { data, expiresAt: this.clock() + this.ttlMs };
  }

  /**
   * Loads again now, whatever the TTL, unless a refresh ran in the last `minIntervalMs`: then it
   * answers undefined, so that no caller can turn a forged value into a remote call each. Concurrent
   * callers share one refresh; a failed one fails only its callers and keeps the cached value.
   */
  refresh(signal: () => AbortSignal, minIntervalMs: number): Promise<T | undefined> {
    if (this.refreshing !== undefined) return this.refreshing;
    if (this.clock() - this.lastRefresh < minIntervalMs) return Promise.resolve(undefined);
    this.lastRefresh = this.clock();
    this.refreshing = this.load(signal())
      .then((data) => {
        this.set(data);
        return data;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Forgets the value, so that the next get loads again. */
  invalidate(): void {
    this.value = undefined;
  }
}
