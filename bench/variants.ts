/**
 * Candidate optimisations for bench/experiments.ts, each a few textual patches to a copy of
 * functions/ (never to functions/ itself). `from` must occur in the current source, or the variant is
 * skipped; `content` replaces a whole file. They are measurements, not code to ship as is: the
 * recommended changes are written out in docs/benchmarks.md.
 */
export type Patch =
  | { readonly file: string; readonly from: string; readonly to: string; readonly all?: boolean }
  | { readonly file: string; readonly content: string };

export interface Variant {
  readonly name: string;
  readonly description: string;
  readonly function?: 'par' | 'token' | 'jwks';
  readonly patches: readonly Patch[];
  /** Extra environment for the variant's function. */
  readonly env?: Readonly<Record<string, string>>;
}

const OBSERVABILITY = 'functions/app/observability.ts';

/** The interface part of functions/app/observability.ts, shared by the replacements below. */
const TELEMETRY_TYPES = `
export interface RequestRecord {
  readonly requestId: string;
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly durationMs: number;
  readonly upstreamMs: Readonly<Record<string, number>>;
  readonly error?: string;
  readonly errorDescription?: string;
  readonly exception?: string;
  readonly success?: string;
}
export interface Telemetry {
  record(record: RequestRecord): void;
}
export const METRICS_NAMESPACE = 'ParProxy';
`;

/** Upper bound: what per-request telemetry costs in all (and what Powertools adds to size and import). */
const TELEMETRY_OFF = `${TELEMETRY_TYPES}
export function powertoolsTelemetry(_serviceName: string): Telemetry {
  return { record() {} };
}
`;

/**
 * The recommended replacement: one JSON line per request that is both the structured log record and
 * the CloudWatch Embedded Metric Format document (CloudWatch extracts metrics from any log line with
 * an _aws member), written with one process.stdout.write. Same fields, levels, metric names, units
 * and dimensions as the Powertools version; no Powertools.
 */
const EMF_LINE = `${TELEMETRY_TYPES}
const UPSTREAM_METRICS: Readonly<Record<string, string>> = {
  kms: 'KmsLatency',
  secrets_manager: 'SecretsManagerLatency',
  authorization_server: 'AuthorizationServerLatency',
};

export function powertoolsTelemetry(serviceName: string): Telemetry {
  return {
    record(record) {
      const level = record.status >= 500 ? 'ERROR' : record.status >= 400 ? 'WARN' : 'INFO';
      const metrics: { Name: string; Unit: string }[] = [];
      const values: Record<string, number | string> = {};
      if (record.success !== undefined && record.error === undefined) {
        metrics.push({ Name: record.success, Unit: 'Count' });
        values[record.success] = 1;
      }
      for (const upstream in record.upstreamMs) {
        const name = UPSTREAM_METRICS[upstream];
        if (name === undefined) continue;
        metrics.push({ Name: name, Unit: 'Milliseconds' });
        values[name] = record.upstreamMs[upstream]!;
      }
      const directives: object[] = [];
      if (metrics.length > 0) directives.push({ Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: metrics });
      if (record.error !== undefined) {
        const name = record.status < 500 ? 'Refused' : 'UpstreamFailures';
        directives.push({ Namespace: METRICS_NAMESPACE, Dimensions: [['service', 'Reason']], Metrics: [{ Name: name, Unit: 'Count' }] });
        values[name] = 1;
        values.Reason = record.error;
      }
      const now = Date.now();
      const line = {
        level,
        message: 'request',
        timestamp: new Date(now).toISOString(),
        service: serviceName,
        ...record,
        ...values,
        ...(directives.length === 0 ? {} : { _aws: { Timestamp: now, CloudWatchMetrics: directives } }),
      };
      process.stdout.write(JSON.stringify(line) + '\\n');
    },
  };
}
`;

/** Powertools Logger kept, Metrics dropped: splits the two costs. */
const LOGGER_ONLY = `import { Logger } from '@aws-lambda-powertools/logger';
${TELEMETRY_TYPES}
export function powertoolsTelemetry(serviceName: string): Telemetry {
  const logger = new Logger({ serviceName });
  return {
    record(record) {
      const level = record.status >= 500 ? 'error' : record.status >= 400 ? 'warn' : 'info';
      logger[level]('request', { ...record });
    },
  };
}
`;

const LAZY_SIGNALS: Patch[] = [
  {
    file: 'functions/core/cache.ts',
    from: 'this.loading ??= this.load(signal).then(',
    to: "this.loading ??= this.load(typeof signal === 'function' ? (signal as () => AbortSignal)() : signal).then(",
  },
  { file: 'functions/adapters/authorization-server.ts', from: 'this.discovery.get(deadline.signal())', to: 'this.discovery.get((() => deadline.signal()) as never)' },
  { file: 'functions/adapters/client-authentication.ts', from: 'secrets.current(deadline.signal())', to: 'secrets.current((() => deadline.signal()) as never)' },
  { file: 'functions/adapters/kms-signer.ts', from: 'this.publicKey.get(deadline.signal())', to: 'this.publicKey.get((() => deadline.signal()) as never)', all: true },
  { file: 'functions/jwks/app.ts', from: 'key.publicJwk(deadline.signal())', to: 'key.publicJwk((() => deadline.signal()) as never)' },
];

const SIGNAL_CONTROLLER: Patch = {
  file: 'functions/core/deadline.ts',
  from: 'return AbortSignal.timeout(Math.max(1, this.callTimeout()));',
  to: `const controller = new AbortController();
    setTimeout(() => controller.abort(new DOMException('The operation timed out', 'TimeoutError')), Math.max(1, this.callTimeout())).unref();
    return controller.signal;`,
};

/**
 * Each call's timer is cleared when the request ends (AbortSignal.timeout's stays armed for the whole
 * UPSTREAM_TIMEOUT_MS, kept alive by a WeakRef and a FinalizationRegistry): Deadline remembers its
 * timers and proxyApp's first middleware disposes of the request's Deadline after next().
 */
const SIGNALS_CLEARED: Patch[] = [
  ...LAZY_SIGNALS,
  {
    file: 'functions/core/deadline.ts',
    from: `  signal(): AbortSignal {
    return AbortSignal.timeout(Math.max(1, this.callTimeout()));
  }`,
    to: `  private timers?: NodeJS.Timeout[];

  signal(): AbortSignal {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), Math.max(1, this.callTimeout()));
    (this.timers ??= []).push(timer);
    return controller.signal;
  }

  /** Clears the request's timers: the request has been answered. */
  dispose(): void {
    for (const timer of this.timers ?? []) clearTimeout(timer);
    this.timers = undefined;
  }`,
  },
  { file: 'functions/app/proxy-app.ts', from: '    await next();', to: "    try {\n      await next();\n    } finally {\n      (c.get('deadline' as never) as { dispose(): void } | undefined)?.dispose();\n    }" },
  { file: 'functions/par/app.ts', from: 'const deadline = Deadline.start(clock, REQUEST_BUDGET_MS, config.upstreamTimeoutMs);', to: "const deadline = Deadline.start(clock, REQUEST_BUDGET_MS, config.upstreamTimeoutMs);\n    c.set('deadline' as never, deadline as never);" },
  { file: 'functions/token/app.ts', from: 'const deadline = Deadline.start(clock, REQUEST_BUDGET_MS, config.upstreamTimeoutMs);', to: "const deadline = Deadline.start(clock, REQUEST_BUDGET_MS, config.upstreamTimeoutMs);\n    c.set('deadline' as never, deadline as never);" },
  { file: 'functions/jwks/app.ts', from: 'const deadline = Deadline.start(clock, REQUEST_BUDGET_MS, deps.upstreamTimeoutMs);', to: "const deadline = Deadline.start(clock, REQUEST_BUDGET_MS, deps.upstreamTimeoutMs);\n    c.set('deadline' as never, deadline as never);" },
];

const TEXT_DECODER: Patch[] = [
  {
    file: 'functions/app/http.ts',
    from: "text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);",
    to: 'text = UTF8.decode(bytes);',
  },
  {
    file: 'functions/app/http.ts',
    from: 'export const MAX_BODY_BYTES = 8 * 1024;',
    to: "export const MAX_BODY_BYTES = 8 * 1024;\nconst UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });",
  },
];

const JOSE_FREE: Patch = {
  file: 'functions/adapters/kms-signer.ts',
  from: "import { calculateJwkThumbprint } from 'jose';",
  to: `import { createHash as sha } from 'node:crypto';
/** RFC 7638: the members of an RSA key in lexicographic order, no whitespace, SHA-256, base64url. */
const calculateJwkThumbprint = async (jwk: { kty: string; n: string; e: string }, _alg?: string) =>
  sha('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url');`,
};

/** Loads undici (Request, Response: hono's aws-lambda adapter builds both) during INIT rather than in the first invocation. */
const UNDICI_AT_INIT = (fn: 'par' | 'token' | 'jwks'): Patch => ({
  file: `functions/${fn}/handler.ts`,
  from: "import { lambdaHandler } from '../app/lambda.ts';",
  to: "import { lambdaHandler } from '../app/lambda.ts';\n// Node 20 loads undici on first use of Request/Response; do it during INIT, not in the first request.\nnew Response(null);",
});

/** Secret, discovery document and kid loaded during INIT (top-level await), concurrently. */
const PREFETCH_PAR: Patch[] = [
  { file: 'functions/par/wiring.ts', from: '  return createParApp({', to: '  let signer: any, server: any, auth: any;\n  const app = createParApp({' },
  { file: 'functions/par/wiring.ts', from: '    signer: new KmsSigner(kms, config.signingKey),', to: '    signer: (signer = new KmsSigner(kms, config.signingKey)),' },
  { file: 'functions/par/wiring.ts', from: '    authorizationServer: new AuthorizationServer(config.issuer, {', to: '    authorizationServer: (server = new AuthorizationServer(config.issuer, {' },
  { file: 'functions/par/wiring.ts', from: '    }),\n', to: '    })),\n' },
  {
    file: 'functions/par/wiring.ts',
    from: '    clientAuthentication: clientAuthenticationFor(config, () => kms, clock),',
    to: '    clientAuthentication: (auth = clientAuthenticationFor(config, () => kms, clock)),',
  },
  {
    file: 'functions/par/wiring.ts',
    from: '    clock,\n  });\n}',
    to: `    clock,
  });
  const deadline = () => Deadline.start(clock, REQUEST_BUDGET_MS, Math.min(2000, config.upstreamTimeoutMs));
  prefetched = Promise.allSettled([
    config.signingKey.kid === undefined ? signer.publicJwk(deadline().signal()) : undefined,
    server.endpoint('par', deadline()),
    server.endpoint('authorization', deadline()),
    auth.credential(deadline()),
  ]);
  return app;
}
/** Settles when the INIT-time loads have; failures are not cached and are retried by the first request. */
export let prefetched: Promise<unknown> = Promise.resolve();`,
  },
  {
    file: 'functions/par/wiring.ts',
    from: "import { createParApp } from './app.ts';",
    to: "import { createParApp } from './app.ts';\nimport { Deadline, REQUEST_BUDGET_MS } from '../core/deadline.ts';",
  },
  { file: 'functions/par/handler.ts', from: "import { parAppFromEnv } from './wiring.ts';", to: "import { parAppFromEnv, prefetched } from './wiring.ts';" },
  {
    file: 'functions/par/handler.ts',
    from: 'export const handler = lambdaHandler(parAppFromEnv(process.env));',
    to: 'export const handler = lambdaHandler(parAppFromEnv(process.env));\nawait prefetched;',
  },
];

/** 16 random bytes per jti from a pool refilled every 256 requests (what randomUUID does), not one RNG call each. */
const JTI_POOL: Patch[] = [
  { file: 'functions/core/request-object.ts', from: "import { randomBytes } from 'node:crypto';", to: "import { randomBytes, randomFillSync } from 'node:crypto';" },
  {
    file: 'functions/core/request-object.ts',
    from: `export function newJti(): string {
  return randomBytes(16).toString('base64url');
}`,
    to: `const JTI_BYTES = 16;
const jtiPool = Buffer.alloc(JTI_BYTES * 256);
let jtiOffset = jtiPool.length;

export function newJti(): string {
  if (jtiOffset === jtiPool.length) {
    randomFillSync(jtiPool);
    jtiOffset = 0;
  }
  jtiOffset += JTI_BYTES;
  return jtiPool.toString('base64url', jtiOffset - JTI_BYTES, jtiOffset);
}
void randomBytes;`,
  },
];

const RECOMMENDED = (fn: 'par' | 'token' | 'jwks'): Patch[] => [
  { file: OBSERVABILITY, content: EMF_LINE },
  ...SIGNALS_CLEARED,
  ...TEXT_DECODER,
  ...(fn === 'token' ? [] : [JOSE_FREE]),
  ...(fn === 'par' ? JTI_POOL : []),
  UNDICI_AT_INIT(fn),
];

export const VARIANTS: readonly Variant[] = [
  { name: 'aa1', description: 'identical copy (A/A noise check)', patches: [] },
  { name: 'telemetry-off', description: 'no telemetry at all (upper bound)', patches: [{ file: OBSERVABILITY, content: TELEMETRY_OFF }] },
  { name: 'emf-line', description: 'one stdout line = log record + EMF, no Powertools', patches: [{ file: OBSERVABILITY, content: EMF_LINE }] },
  { name: 'logger-only', description: 'Powertools Logger, no Metrics', patches: [{ file: OBSERVABILITY, content: LOGGER_ONLY }] },
  { name: 'lazy-signals', description: 'AbortSignal only when a call is made', patches: LAZY_SIGNALS },
  { name: 'signal-controller', description: 'AbortController + unref setTimeout, not AbortSignal.timeout', patches: [SIGNAL_CONTROLLER] },
  { name: 'signals-cleared', description: 'lazy signals, timers cleared when the request ends', patches: SIGNALS_CLEARED },
  { name: 'textdecoder', description: 'one TextDecoder per container', patches: TEXT_DECODER },
  { name: 'jti-pool', description: 'jti from a pooled randomFillSync', patches: JTI_POOL },
  { name: 'jose-free', description: 'RFC 7638 thumbprint with node:crypto, no jose', patches: [JOSE_FREE] },
  {
    name: 'sdk-default-config',
    description: 'KMS/SM clients with the SDK defaults (measure only)',
    patches: [
      { file: 'functions/adapters/aws-clients.ts', from: 'return new KMSClient(clientConfig(options));', to: 'return new KMSClient({});' },
      { file: 'functions/adapters/aws-clients.ts', from: 'return new SecretsManagerClient(clientConfig(options));', to: 'return new SecretsManagerClient({});' },
    ],
  },
  {
    name: 'no-header-guard',
    description: 'without the header guard (measure only)',
    patches: [{ file: 'functions/app/lambda.ts', from: 'if (!wellFormedHeaders(event.headers)) return MALFORMED;', to: '' }],
  },
  { name: 'undici-at-init', description: 'undici loaded at INIT', patches: [UNDICI_AT_INIT('par')] },
  { name: 'prefetch', description: 'secret, discovery, kid loaded at INIT', patches: PREFETCH_PAR },
  { name: 'recommended', description: 'emf-line + signals-cleared + jti-pool + textdecoder + jose-free + undici-at-init', patches: RECOMMENDED('par') },
  { name: 'recommended+prefetch', description: 'recommended + prefetch', patches: [...RECOMMENDED('par'), ...PREFETCH_PAR] },
  { name: 'source-maps-on', description: 'NODE_OPTIONS=--enable-source-maps (why it is off)', patches: [], env: { NODE_OPTIONS: '--enable-source-maps' } },
  { name: 'extra-ca-certs', description: 'NODE_EXTRA_CA_CERTS set (why it is off)', patches: [], env: { NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' } },
  {
    name: 'token-no-kms',
    function: 'token',
    description: 'token without private_key_jwt KMS client (size only)',
    patches: [
      {
        file: 'functions/token/wiring.ts',
        from: '() => kmsClient({ timeoutMs: config.upstreamTimeoutMs })',
        to: "() => { throw new Error('private_key_jwt is not built in') }",
      },
    ],
  },
  { name: 'token-telemetry-off', function: 'token', description: 'no telemetry at all (upper bound)', patches: [{ file: OBSERVABILITY, content: TELEMETRY_OFF }] },
  { name: 'token-recommended', function: 'token', description: 'recommended set', patches: RECOMMENDED('token') },
  { name: 'jwks-telemetry-off', function: 'jwks', description: 'no telemetry at all (upper bound)', patches: [{ file: OBSERVABILITY, content: TELEMETRY_OFF }] },
  { name: 'jwks-lazy-signals', function: 'jwks', description: 'AbortSignal only when a call is made', patches: LAZY_SIGNALS },
  { name: 'jwks-emf-line', function: 'jwks', description: 'one stdout line = log record + EMF, no Powertools', patches: [{ file: OBSERVABILITY, content: EMF_LINE }] },
  { name: 'token-emf-line', function: 'token', description: 'one stdout line = log record + EMF, no Powertools', patches: [{ file: OBSERVABILITY, content: EMF_LINE }] },
  { name: 'jwks-recommended', function: 'jwks', description: 'recommended set', patches: RECOMMENDED('jwks') },
  {
    name: 'jwks-no-success-log',
    function: 'jwks',
    description: 'recommended, but no log line for a 2xx (upper bound)',
    patches: [...RECOMMENDED('jwks').filter((p) => p.file !== OBSERVABILITY), { file: OBSERVABILITY, content: TELEMETRY_OFF }],
  },
];
