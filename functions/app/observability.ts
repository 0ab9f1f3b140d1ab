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
  readonly durationMs: number;
  /** Milliseconds spent in each upstream, by name (kms, secrets_manager, authorization_server). */
  readonly upstreamMs: Readonly<Record<string, number>>;
  readonly error?: string;
  readonly errorDescription?: string;
  /** The name of an unexpected exception: a bug, not a caller's mistake. */
  readonly exception?: string;
  /** A success metric to count, e.g. Pushed. */
  readonly success?: string;
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

/** Keys the JWKS could not read, by service: their reasons are in the line's keyFailures. */
export const JWKS_KEY_FAILURES_METRIC = 'JwksKeyFailures';

const UPSTREAM_METRICS: Readonly<Record<string, string>> = {
  kms: 'KmsLatency',
  secrets_manager: 'SecretsManagerLatency',
  authorization_server: 'AuthorizationServerLatency',
};

interface MetricDirective {
  readonly Namespace: string;
  readonly Dimensions: string[][];
  readonly Metrics: { readonly Name: string; readonly Unit: string }[];
}

/**
 * The EMF members of one request's line: successes, upstream latencies and JWKS key failures by `service`;
 * refusals (4xx, the caller's doing) and upstream failures (5xx) by `service` and OAuth error code.
 */
export function emfMembers(record: RequestRecord, timestamp: number): Record<string, unknown> {
  const members: Record<string, unknown> = {};
  const byService: MetricDirective = { Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: [] };
  if (record.success !== undefined && record.error === undefined) {
    byService.Metrics.push({ Name: record.success, Unit: 'Count' });
    members[record.success] = 1;
  }
  for (const [upstream, ms] of Object.entries(record.upstreamMs)) {
    const name = UPSTREAM_METRICS[upstream];
    if (name === undefined) continue;
    byService.Metrics.push({ Name: name, Unit: 'Milliseconds' });
    members[name] = ms;
  }
  // EMF gives a dimension one value per line, so the count cannot carry each key's own reason.
  if (record.keyFailures !== undefined && record.keyFailures.length > 0) {
    byService.Metrics.push({ Name: JWKS_KEY_FAILURES_METRIC, Unit: 'Count' });
    members[JWKS_KEY_FAILURES_METRIC] = record.keyFailures.length;
  }
  const directives = byService.Metrics.length > 0 ? [byService] : [];
  if (record.error !== undefined) {
    const name = record.status < 500 ? 'Refused' : 'UpstreamFailures';
    directives.push({ Namespace: METRICS_NAMESPACE, Dimensions: [['service', 'Reason']], Metrics: [{ Name: name, Unit: 'Count' }] });
    members[name] = 1;
    members.Reason = record.error;
  }
  if (directives.length > 0) members._aws = { Timestamp: timestamp, CloudWatchMetrics: directives };
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
      const degraded = record.status >= 400 || (record.keyFailures?.length ?? 0) > 0;
      const level = record.status >= 500 ? 'ERROR' : degraded ? 'WARN' : 'INFO';
      const line = { level, message: 'request', timestamp: new Date(now).toISOString(), service, ...traceId() };
      write(JSON.stringify({ ...line, ...record, ...emfMembers(record, now) }));
    },
  };
}
