import http from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { getRequestListener } from '@hono/node-server';
import autocannon from 'autocannon';
import { parAppFromEnv } from '../../functions/par/wiring.ts';
import type { FaultRule } from '../../local/aws-json-server.ts';
import { startFakeKms, type FakeKms } from '../../local/fake-kms.ts';
import { startFakeSecretsManager, type FakeSecretsManager } from '../../local/fake-secrets-manager.ts';
import { useLocalAws } from '../../local/stack.ts';
import { CODE_CHALLENGE } from './events.ts';

/**
 * The /par function as the local stack serves it (@hono/node-server's request listener around
 * parAppFromEnv, built from environment variables), on 127.0.0.1, wired through the real AWS SDK to
 * the wire-level KMS and Secrets Manager stand-ins and to a minimal authorization server that answers
 * at once and keeps only what the load test needs: the jti of every request object it receives.
 * Used by test/load/par-load.test.ts (CI counts) and bench/load.ts (the full 20,000).
 */
export const LOAD_ORIGIN = 'https://app.example.com';
export const LOAD_REDIRECT_URI = 'https://app.example.com/callback';
export const LOAD_CLIENT_ID = 'load-client';
export const LOAD_CLIENT_SECRET = 'load-client-secret-Vb7pQ2';

export type KmsMode = 'instant' | { readonly throttleEvery: number };

export interface LoadStack {
  readonly url: string;
  readonly kms: FakeKms;
  readonly secretsManager: FakeSecretsManager;
  /** KMS Sign answers at once with a fixed 256-byte signature, or every nth Sign call is throttled. */
  setKms(mode: KmsMode): void;
  /** Counters since the last reset. */
  counters(): LoadCounters;
  resetCounters(): void;
  close(): Promise<void>;
}

export interface LoadCounters {
  /** Answers by status, counted as the proxy returned them. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Answers other than 201 that are not 503 with a Retry-After. */
  readonly unexpected: number;
  /** Request objects the authorization server received, with distinct jti. */
  readonly pushes: number;
  readonly uniqueJtis: number;
  readonly duplicateJtis: number;
  /** KMS Sign calls, and those answered ThrottlingException. */
  readonly signCalls: number;
  readonly throttled: number;
}

const SIGNATURE = Buffer.alloc(256, 0x5a).toString('base64');

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startLoadStack(): Promise<LoadStack> {
  const kms = await startFakeKms();
  const secretsManager = await startFakeSecretsManager();
  useLocalAws(kms, secretsManager);
  const key = kms.createKey({ alias: 'alias/load' });
  const secret = secretsManager.createSecret('load/client', JSON.stringify({ client_secret: LOAD_CLIENT_SECRET }));

  // The authorization server: discovery and a PAR endpoint that checks the client and keeps jtis only.
  const jtis = new Set<string>();
  let pushes = 0;
  let duplicateJtis = 0;
  let issuer = '';
  const authorizationServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 64 * 1024) chunks.push(chunk);
    });
    req.on('end', () => {
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
        return json(200, { issuer, authorization_endpoint: `${issuer}authorize`, pushed_authorization_request_endpoint: `${issuer}oauth/par` });
      }
      if (req.method !== 'POST' || path !== '/oauth/par') return json(404, { error: 'not_found' });
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (form.get('client_id') !== LOAD_CLIENT_ID || form.get('client_secret') !== LOAD_CLIENT_SECRET) return json(401, { error: 'invalid_client' });
      let jti: unknown;
      try {
        jti = (JSON.parse(Buffer.from(form.get('request')?.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown }).jti;
      } catch {
        return json(400, { error: 'invalid_request_object' });
      }
      if (typeof jti !== 'string') return json(400, { error: 'invalid_request_object' });
      pushes += 1;
      if (jtis.has(jti)) duplicateJtis += 1;
      else jtis.add(jti);
      return json(201, { request_uri: `urn:ietf:params:oauth:request_uri:${pushes}`, expires_in: 60 });
    });
  });
  issuer = `${await listen(authorizationServer)}/`;

  const app = parAppFromEnv({
    ISSUER: issuer,
    CLIENT_ID: LOAD_CLIENT_ID,
    CLIENT_SECRET_ID: secret.arn,
    KMS_KEY_ID: 'alias/load',
    ALLOWED_ORIGINS: LOAD_ORIGIN,
    ALLOWED_REDIRECT_URIS: LOAD_REDIRECT_URI,
    // In Lambda a container serves one request at a time; here one process multiplexes 64, on a
    // machine that CI shares with other test files. The whole 8 s request budget per call keeps a
    // starved event loop from turning into 504s; the budget itself still bounds every request.
    UPSTREAM_TIMEOUT_MS: '8000',
  });
  const statuses = new Map<number, number>();
  let unexpected = 0;
  const proxy = http.createServer(
    getRequestListener(async (request) => {
      const response = await app.fetch(request);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status !== 201 && !(response.status === 503 && /^\d+$/.test(response.headers.get('retry-after') ?? ''))) unexpected += 1;
      return response;
    }),
  );
  proxy.keepAliveTimeout = 30_000;
  const url = await listen(proxy);

  let signCalls = 0;
  let throttled = 0;
  const instant = { kind: 'respond', status: 200, body: { KeyId: key.arn, Signature: SIGNATURE, SigningAlgorithm: 'RSASSA_PSS_SHA_256' } } as const;
  const rule = (mode: KmsMode): FaultRule => (operation) => {
    if (operation !== 'Sign') return undefined; // GetPublicKey, once, is answered by the stand-in
    signCalls += 1;
    if (mode !== 'instant' && signCalls % mode.throttleEvery === 0) {
      throttled += 1;
      return { kind: 'error', type: 'ThrottlingException', status: 400, message: 'Rate exceeded' };
    }
    return instant;
  };

  return {
    url,
    kms,
    secretsManager,
    setKms: (mode) => kms.setFault(rule(mode)),
    counters: () => ({
      statuses: Object.fromEntries(statuses),
      unexpected,
      pushes,
      uniqueJtis: jtis.size,
      duplicateJtis,
      signCalls,
      throttled,
    }),
    resetCounters: () => {
      statuses.clear();
      unexpected = 0;
      signCalls = 0;
      throttled = 0;
    },
    close: async () => {
      await closeServer(proxy);
      await closeServer(authorizationServer);
      await Promise.all([kms.close(), secretsManager.close()]);
    },
  };
}

/** A full garbage collection, with or without --expose-gc. */
export function collectGarbage(): void {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
  gc();
}

export interface Memory {
  readonly heapUsedMiB: number;
  readonly rssMiB: number;
}

export function memory(): Memory {
  const usage = process.memoryUsage();
  const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  return { heapUsedMiB: mib(usage.heapUsed), rssMiB: mib(usage.rss) };
}

export interface LoadRun {
  readonly requests: number;
  readonly connections: number;
  readonly kms: KmsMode;
  /** The run is stopped after this long, whatever is left (so lost requests show). */
  readonly maxSeconds: number;
}

export interface LoadFigures {
  readonly requests: number;
  readonly connections: number;
  readonly kms: string;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Sent and answered, as autocannon counted them. */
  readonly sent: number;
  readonly completed: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly counters: LoadCounters;
  readonly non201: number;
  readonly memoryBefore: Memory;
  readonly memoryAfter: Memory;
}

/** One bounded autocannon run against the stack; memory measured after a full GC before and after. */
export async function runLoad(stack: LoadStack, run: LoadRun): Promise<LoadFigures> {
  stack.setKms(run.kms);
  stack.resetCounters();
  const jtisBefore = stack.counters();
  collectGarbage();
  const memoryBefore = memory();
  const started = performance.now();
  const instance = autocannon({
    url: `${stack.url}/par`,
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: LOAD_ORIGIN },
    body: JSON.stringify({
      redirect_uri: LOAD_REDIRECT_URI,
      code_challenge: CODE_CHALLENGE,
      code_challenge_method: 'S256',
      state: 'load-state',
      nonce: 'load-nonce',
      scope: 'openid profile',
    }),
    connections: run.connections,
    pipelining: 1,
    amount: run.requests,
    timeout: 10,
    // The client in its own thread, so that the proxy and the stand-ins have this one.
    ...(process.env.LOAD_IN_THREAD === '1' ? {} : { workers: 1 }),
  });
  const stop = setTimeout(() => instance.stop(), run.maxSeconds * 1000);
  let result;
  try {
    result = await instance;
  } finally {
    clearTimeout(stop);
  }
  const seconds = (performance.now() - started) / 1000;
  collectGarbage();
  const memoryAfter = memory();
  const counters = stack.counters();
  const answered = Object.values(counters.statuses).reduce((a, b) => a + b, 0);
  return {
    requests: run.requests,
    connections: run.connections,
    kms: run.kms === 'instant' ? 'instant' : `every ${run.kms.throttleEvery}th Sign throttled`,
    seconds: Math.round(seconds * 100) / 100,
    requestsPerSecond: Math.round(answered / seconds),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    sent: result.requests.sent,
    completed: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    counters: {
      ...counters,
      pushes: counters.pushes - jtisBefore.pushes,
      uniqueJtis: counters.uniqueJtis - jtisBefore.uniqueJtis,
      duplicateJtis: counters.duplicateJtis - jtisBefore.duplicateJtis,
    },
    non201: answered - (counters.statuses['201'] ?? 0),
    memoryBefore,
    memoryAfter,
  };
}

export function formatFigures(f: LoadFigures): string {
  return [
    `POST /par x ${f.requests} at concurrency ${f.connections}, KMS ${f.kms}`,
    `  ${f.seconds} s, ${f.requestsPerSecond} requests/s, latency p50 ${f.latencyMs.p50} ms, p99 ${f.latencyMs.p99} ms, max ${f.latencyMs.max} ms`,
    `  sent ${f.sent}, answered ${f.completed}, errors ${f.errors}, timeouts ${f.timeouts}`,
    `  statuses ${JSON.stringify(f.counters.statuses)}, non-201 ${f.non201}, non-201 that are not 503 + Retry-After ${f.counters.unexpected}`,
    `  request objects pushed ${f.counters.pushes}, unique jti ${f.counters.uniqueJtis}, duplicate jti ${f.counters.duplicateJtis}`,
    `  KMS Sign calls ${f.counters.signCalls}, throttled ${f.counters.throttled}`,
    `  heap ${f.memoryBefore.heapUsedMiB} -> ${f.memoryAfter.heapUsedMiB} MiB, RSS ${f.memoryBefore.rssMiB} -> ${f.memoryAfter.rssMiB} MiB (after a full GC)`,
  ].join('\n');
}
