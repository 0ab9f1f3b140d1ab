/**
 * The environment a measured Node process gets: only what it needs, and nothing from the shell or
 * from tsx that would slow it down or change what it loads (NODE_OPTIONS such as
 * --enable-source-maps or a tsx loader, NODE_EXTRA_CA_CERTS: all off the hot path, as in Lambda).
 */
export function childEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', TZ: 'UTC', ...env };
}

/** Resolves after `ms`, without keeping the event loop alive. */
export const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/** Rejects when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
      timer.unref();
    }),
  ]);
}
