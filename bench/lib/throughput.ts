import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Bundle } from './build.ts';
import { childEnv, within } from './processes.ts';

/**
 * autocannon 9 ships no types; the part used here is typed locally and the package loaded with
 * require, so that no ambient `declare module 'autocannon'` elsewhere in the project can conflict.
 */
interface AutocannonResult {
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly '2xx': number;
  readonly latency: { readonly p50: number; readonly p99: number };
}
interface AutocannonInstance {
  stop(): void;
  on(event: 'response', listener: () => void): unknown;
}
type Autocannon = (
  options: {
    url: string;
    method: string;
    headers: Record<string, string>;
    body: string;
    amount: number;
    connections: number;
    pipelining: number;
    timeout: number;
  },
  callback: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** A throughput server (bench/servers/*) in its own process, and autocannon against it from here. */
export interface ThroughputTarget {
  readonly label: string;
  readonly bundle: Bundle;
  readonly env: Record<string, string>;
  readonly path: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly expectedStatus: number;
}

export interface ThroughputSample {
  readonly requestsPerSecond: number;
  /** CPU of the server process per request. */
  readonly serverCpuUs: number;
  /** CPU of this process (autocannon and the fakes) as a share of one core during the load. */
  readonly loadCpuShare: number;
  readonly p50: number;
  readonly p99: number;
  readonly unexpected: number;
}

export interface RunningServer {
  readonly url: string;
  /** The server process's CPU time so far, in microseconds. */
  cpuUs(): Promise<number>;
  close(): void;
}

export async function startServer(target: ThroughputTarget): Promise<RunningServer> {
  const child = fork(target.bundle.file, [], {
    env: childEnv(target.env),
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'json',
  });
  const port = await within(
    new Promise<number>((resolve, reject) => {
      child.once('message', (message: { port: number }) => resolve(message.port));
      child.once('exit', (code) => reject(new Error(`${target.label} server exited ${code}`)));
    }),
    20_000,
    `${target.label} server start`,
  );
  const cpuUs = () =>
    within(
      new Promise<number>((resolve) => {
        child.once('message', (message: { cpu: NodeJS.CpuUsage }) => resolve(message.cpu.user + message.cpu.system));
        child.send('cpu');
      }),
      5000,
      `${target.label} CPU`,
    );
  return { url: `http://127.0.0.1:${port}${target.path}`, cpuUs, close: () => child.kill('SIGTERM') };
}

/** Bounded: `amount` requests over `connections` connections, stopped after 60 s whatever happens. */
export async function load(
  server: RunningServer,
  target: ThroughputTarget,
  amount: number,
  connections: number,
): Promise<ThroughputSample> {
  const serverBefore = await server.cpuUs();
  const ownBefore = process.cpuUsage();
  const { activeMs, ...sample } = await autocannonRun(server, target, amount, connections);
  const own = process.cpuUsage(ownBefore);
  const serverCpuUs = ((await server.cpuUs()) - serverBefore) / amount;
  return { ...sample, serverCpuUs, loadCpuShare: (own.user + own.system) / (activeMs * 1000) };
}

function autocannonRun(
  server: RunningServer,
  target: ThroughputTarget,
  amount: number,
  connections: number,
): Promise<Omit<ThroughputSample, 'serverCpuUs' | 'loadCpuShare'> & { activeMs: number }> {
  return new Promise((resolve, reject) => {
    // autocannon ends an `amount` run on its next one-second tick, so its own duration is coarse:
    // the rate is counted here, from the first request to the last response.
    const started = performance.now();
    let lastResponse = started;
    let responses = 0;
    const instance = autocannon(
      { url: server.url, method: 'POST', headers: target.headers, body: target.body, amount, connections, pipelining: 1, timeout: 10 },
      (error, result) => {
        clearTimeout(cap);
        if (error !== null) {
          reject(error);
          return;
        }
        resolve({
          activeMs: lastResponse - started,
          requestsPerSecond: responses / ((lastResponse - started) / 1000),
          p50: result.latency.p50,
          p99: result.latency.p99,
          unexpected: amount - result['2xx'],
        });
      },
    );
    instance.on('response', () => {
      responses += 1;
      lastResponse = performance.now();
    });
    const cap = setTimeout(() => instance.stop(), 60_000);
  });
}
