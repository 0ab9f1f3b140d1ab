import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * One structured log line and one set of EMF metrics per request. Records carry only what is safe
 * to keep: route, status, OAuth error code and description, timings. Never a body, a secret, a
 * request object, a token or a code.
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
}

export interface Telemetry {
  record(record: RequestRecord): void;
}

export const METRICS_NAMESPACE = 'ParProxy';

const UPSTREAM_METRICS: Readonly<Record<string, string>> = {
  kms: 'KmsLatency',
  secrets_manager: 'SecretsManagerLatency',
  authorization_server: 'AuthorizationServerLatency',
};

export function powertoolsTelemetry(serviceName: string): Telemetry {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
  return {
    record(record) {
      const level = record.status >= 500 ? 'error' : record.status >= 400 ? 'warn' : 'info';
      logger[level]('request', { ...record });
      if (record.success !== undefined) metrics.addMetric(record.success, MetricUnit.Count, 1);
      for (const [upstream, ms] of Object.entries(record.upstreamMs)) {
        const name = UPSTREAM_METRICS[upstream];
        if (name !== undefined) metrics.addMetric(name, MetricUnit.Milliseconds, ms);
      }
      if (record.error !== undefined) {
        // Refusals (4xx, the caller's doing) and upstream failures (5xx), each by OAuth error code.
        const single = metrics.singleMetric();
        single.addDimension('Reason', record.error);
        single.addMetric(record.status < 500 ? 'Refused' : 'UpstreamFailures', MetricUnit.Count, 1);
      }
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
  };
}
