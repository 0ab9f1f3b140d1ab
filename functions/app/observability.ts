import type { Upstream } from '../core/errors.ts';

/**
 * One structured JSON log line per request, which also carries the request's CloudWatch metrics in
 * Embedded Metric Format: CloudWatch extracts metrics from any JSON log line with an `_aws` member.
 * The line keeps Powertools Logger's field names (level, message, timestamp, service,
 * xray_trace_id), so queries written for Powertools work; Powertools Logger and Metrics themselves
 * were measured at 9.5 KiB gzip per bundle and 5-25 % of warm CPU (docs/benchmarks.md), the
 * difference between meeting the bundle and CPU budgets and not. Records carry only what is safe to
 * keep: route, status, OAuth error code and description, timings. Never a body, a secret, a request
 * object, a token or a code.
 */
export interface RequestRecord {
  readonly requestId: string;
  readonly method: string;
  readonly route: string;
  readonly status: number;
  /** The status of a failure answered otherwise (a redirect, a 200): what Refused or UpstreamFailures and the level go by. */
  readonly errorStatus?: number;
  readonly durationMs: number;
  /** Milliseconds spent in each upstream this request called; a cache hit is no call. */
  readonly upstreamMs: Readonly<Partial<Record<Upstream, number>>>;
  readonly error?: string;
  readonly errorDescription?: string;
  /** The upstream the error came from: the one that failed, or the authorization server that refused. */
  readonly upstream?: Upstream;
  /** The name of an unexpected exception: a bug, not a caller's mistake. */
  readonly exception?: string;
  /** A success metric to count, e.g. Pushed. */
  readonly success?: MetricName;
  /** Cookies the Lambda guard dropped as malformed (RFC 6265 4.1.1), by name or placeholder: never a value. */
  readonly droppedCookies?: readonly string[];
  /** JWKS keys KMS did not read for this answer; a 200 with any is logged although failures-only. */
  readonly keyFailures?: readonly KeyFailure[];
}

/** A key the JWKS could not read: named by its position and its id or ARN, which are not secret. */
export interface KeyFailure {
  readonly index: number;
  readonly keyId: string;
  /** It signs: the answer failed with it. */
  readonly active: boolean;
  readonly error: string;
  readonly description: string;
  /** Its last good copy was published in its place. */
  readonly lastGoodCopy: boolean;
}

export interface Telemetry {
  record(record: RequestRecord): void;
}

export const METRICS_NAMESPACE = 'ParProxy';

/** The dimensions' names: `service` is Powertools' name for the function's, set on every line. */
export const DIMENSIONS = { service: 'service', upstream: 'Upstream', reason: 'Reason' } as const;
type DimensionName = (typeof DIMENSIONS)[keyof typeof DIMENSIONS];

/** The Upstream of a failure or refusal that came from no upstream: the caller's mistake, the proxy's own bug. */
export const NO_UPSTREAM = 'proxy';

/**
 * Every metric the functions publish, named once: the functions emit these, infra/monitoring.ts
 * graphs them, and test/infra/contract.test.ts checks that the two are the same set.
 */
export const METRIC = {
  pushed: 'Pushed',
  tokensIssued: 'TokensIssued',
  kmsLatency: 'KmsLatency',
  secretsManagerLatency: 'SecretsManagerLatency',
  authorizationServerLatency: 'AuthorizationServerLatency',
  /** The bff's calls to the APIs of API_UPSTREAMS (functions/adapters/api-upstream.ts). */
  apiUpstreamLatency: 'ApiUpstreamLatency',
  /** The bff's session table (SESSION_STORE=dynamodb, functions/adapters/dynamodb-session-store.ts). */
  dynamoDbLatency: 'DynamoDbLatency',
  /** Keys the JWKS could not read: their reasons are in the line's keyFailures. */
  jwksKeyFailures: 'JwksKeyFailures',
  /** 4xx: the caller's doing, noticed by the proxy (Upstream=proxy) or the authorization server. */
  refused: 'Refused',
  /** 5xx: by the upstream that failed (Upstream=proxy for the proxy's own) and the OAuth error code. */
  upstreamFailures: 'UpstreamFailures',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

const BY_SERVICE = [DIMENSIONS.service] as const;
const BY_UPSTREAM_AND_REASON = [DIMENSIONS.service, DIMENSIONS.upstream, DIMENSIONS.reason] as const;

/**
 * The one dimension set each metric is published under. CloudWatch tells metrics apart by their
 * exact dimension set, so this is also what every graph and alarm of it must query.
 */
export const METRIC_DIMENSIONS: Readonly<Record<MetricName, readonly DimensionName[]>> = {
  [METRIC.pushed]: BY_SERVICE,
  [METRIC.tokensIssued]: BY_SERVICE,
  [METRIC.kmsLatency]: BY_SERVICE,
  [METRIC.secretsManagerLatency]: BY_SERVICE,
  [METRIC.authorizationServerLatency]: BY_SERVICE,
  [METRIC.apiUpstreamLatency]: BY_SERVICE,
  [METRIC.dynamoDbLatency]: BY_SERVICE,
  [METRIC.jwksKeyFailures]: BY_SERVICE,
  [METRIC.refused]: BY_UPSTREAM_AND_REASON,
  [METRIC.upstreamFailures]: BY_UPSTREAM_AND_REASON,
};

/** Each upstream's latency, emitted only by a request that called it. */
export const UPSTREAM_LATENCY_METRICS: Readonly<Record<Upstream, MetricName>> = {
  kms: METRIC.kmsLatency,
  secrets_manager: METRIC.secretsManagerLatency,
  authorization_server: METRIC.authorizationServerLatency,
  api: METRIC.apiUpstreamLatency,
  dynamodb: METRIC.dynamoDbLatency,
};

interface MetricDirective {
  readonly Namespace: string;
  readonly Dimensions: string[][];
  readonly Metrics: { readonly Name: string; readonly Unit: string }[];
}

/**
 * The EMF members of one request's line: successes, upstream latencies and JWKS key failures by
 * `service`; refusals (4xx, the caller's doing) and upstream failures (5xx) also by Upstream and
 * OAuth error code. One directive per dimension set, as METRIC_DIMENSIONS declares.
 */
export function emfMembers(record: RequestRecord, timestamp: number): Record<string, unknown> {
  const metrics: [MetricName, 'Count' | 'Milliseconds', number][] = [];
  if (record.success !== undefined && record.error === undefined) metrics.push([record.success, 'Count', 1]);
  for (const [upstream, ms] of Object.entries(record.upstreamMs) as [Upstream, number][]) {
    metrics.push([UPSTREAM_LATENCY_METRICS[upstream], 'Milliseconds', ms]);
  }
  // EMF gives a dimension one value per line, so the count cannot carry each key's own reason.
  const keyFailures = record.keyFailures?.length ?? 0;
  if (keyFailures > 0) metrics.push([METRIC.jwksKeyFailures, 'Count', keyFailures]);
  const members: Record<string, unknown> = {};
  if (record.error !== undefined) {
    metrics.push([(record.errorStatus ?? record.status) < 500 ? METRIC.refused : METRIC.upstreamFailures, 'Count', 1]);
    members[DIMENSIONS.upstream] = record.upstream ?? NO_UPSTREAM;
    members[DIMENSIONS.reason] = record.error;
  }
  if (metrics.length === 0) return members;
  const directives = new Map<string, MetricDirective>();
  for (const [name, unit, value] of metrics) {
    const dimensions = METRIC_DIMENSIONS[name];
    let directive = directives.get(dimensions.join());
    if (directive === undefined) {
      directive = { Namespace: METRICS_NAMESPACE, Dimensions: [[...dimensions]], Metrics: [] };
      directives.set(dimensions.join(), directive);
    }
    directive.Metrics.push({ Name: name, Unit: unit });
    members[name] = value;
  }
  members._aws = { Timestamp: timestamp, CloudWatchMetrics: [...directives.values()] };
  return members;
}

/** Lambda's X-Ray trace header, as Powertools logs it. */
function traceId(): Record<string, string> {
  const root = process.env._X_AMZN_TRACE_ID?.split(';')[0];
  return root?.startsWith('Root=') ? { xray_trace_id: root.slice(5) } : {};
}

/** Where a JSON log line goes (without its newline). */
export type LogSink = (line: string) => void;

/** Lambda sends stdout to CloudWatch Logs as is. Looked up per line, so a test may capture it. */
export const stdoutSink: LogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

/** Writes each record as one JSON line to `write`: stdout unless the local stack asks otherwise. */
export function jsonLineTelemetry(service: string, clock: () => number = Date.now, write: LogSink = stdoutSink): Telemetry {
  return {
    record(record) {
      const now = clock();
      const status = record.errorStatus ?? record.status;
      const degraded = status >= 400 || (record.keyFailures?.length ?? 0) > 0;
      const level = status >= 500 ? 'ERROR' : degraded ? 'WARN' : 'INFO';
      const line = { level, message: 'request', timestamp: new Date(now).toISOString(), service, ...traceId() };
      write(JSON.stringify({ ...line, ...record, ...emfMembers(record, now) }));
    },
  };
}
