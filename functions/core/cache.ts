/**
 * A single-flight cache of one asynchronous value: concurrent callers share one load, a failed load
 * is never kept (so a fault cannot poison the container), and a value expires after `ttlMs`.
 */
export class AsyncCache<T> {
  private value?: { readonly data: T; readonly expiresAt: number };
  private loading?: Promise<T>;

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

  /** Forgets the value, so that the next get loads again. */
  invalidate(): void {
    this.value = undefined;
  }
}
