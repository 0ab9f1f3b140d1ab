import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { DIMENSIONS, METRIC, METRIC_DIMENSIONS, UPSTREAM_LATENCY_METRICS, type MetricName } from '../functions/app/observability.ts';
import type { Upstream } from '../functions/core/errors.ts';
import { hasCapability, type FunctionSpec } from '../functions/manifest.ts';
import { METRICS_NAMESPACE } from './proxy-functions.ts';

/** Alarm thresholds; docs/deploy.md ("Figures" and "Alarms") says why and what to do. */
export const ALARM_THRESHOLDS = {
  /** Percent of requests answered 5xx in 5 minutes. */
  serverErrorRatePercent: 5,
  /** Fewer requests than this in 5 minutes never raise the 5xx-rate alarm (one failure in two is noise). */
  serverErrorMinRequests: 5,
  /** p99 of API Gateway latency, in milliseconds, for 3 periods of 5 minutes in a row. */
  latencyP99Ms: 3000,
  latencyEvaluationPeriods: 3,
  /** Lambda errors (crashes, timeouts, init failures) per function in 5 minutes. */
  functionErrors: 1,
  /** Lambda throttles per function in 5 minutes. */
  functionThrottles: 1,
} as const;

const PERIOD = Duration.minutes(5);

export interface MonitoringProps {
  readonly stage: apigw.HttpStage;
  /** The deployed functions: their alarms, and graphs of what each emits. */
  readonly functions: ReadonlyArray<{ readonly spec: FunctionSpec; readonly fn: lambda.IFunction; readonly logGroup: logs.ILogGroup }>;
  /** Subscribed to the alarm topic when given (the address must confirm the subscription). */
  readonly alarmEmail?: string;
}

/** The successes a function counts, by its capabilities: a push (par, bff), tokens redeemed (token, bff). */
export function successMetricsOf(spec: FunctionSpec): MetricName[] {
  return [
    ...(hasCapability(spec, ['request-objects']) ? [METRIC.pushed] : []),
    ...(hasCapability(spec, ['token-endpoint']) ? [METRIC.tokensIssued] : []),
  ];
}

/**
 * The upstreams a function calls, by its capabilities: an OAuth client KMS (request objects,
 * assertions), Secrets Manager and the authorization server; the JWKS only KMS; a session also the APIs.
 */
export function upstreamsOf(spec: FunctionSpec): Upstream[] {
  const upstreams: Upstream[] = [];
  if (hasCapability(spec, ['oauth-client'])) upstreams.push('kms', 'secrets_manager', 'authorization_server');
  else if (hasCapability(spec, ['publish-keys'])) upstreams.push('kms');
  // The session table's latency is graphed whichever store runs: without one, the line stays empty.
  if (hasCapability(spec, ['session'])) upstreams.push('api', 'dynamodb');
  return upstreams;
}

/** A dashboard of the whole request path and alarms that page a human through one SNS topic. */
export class Monitoring extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { stage, functions } = props;
    const upstreams = [...new Set(functions.flatMap(({ spec }) => upstreamsOf(spec)))];
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${Stack.of(this).stackName} alarms`,
      // Only HTTPS publishers (cdk-nag AwsSolutions-SNS3).
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    const requests = stage.metricCount({ statistic: 'Sum', period: PERIOD, label: 'Requests' });
    const clientErrors = stage.metricClientError({ period: PERIOD, label: '4xx' });
    const serverErrors = stage.metricServerError({ period: PERIOD, label: '5xx' });
    const serverErrorRate = new cloudwatch.MathExpression({
      expression: `IF(requests >= ${ALARM_THRESHOLDS.serverErrorMinRequests}, 100 * errors / requests, 0)`,
      usingMetrics: { requests, errors: serverErrors },
      period: PERIOD,
      label: '5xx rate (%)',
    });
    const latencyP99 = stage.metricLatency({ statistic: 'p99', period: PERIOD, label: 'Latency p99' });

    this.addAlarm('ApiServerErrorRate', {
      metric: serverErrorRate,
      threshold: ALARM_THRESHOLDS.serverErrorRatePercent,
      evaluationPeriods: 1,
      alarmDescription:
        `More than ${ALARM_THRESHOLDS.serverErrorRatePercent}% of API requests failed with 5xx in 5 minutes: ` +
        `sign-ins are failing. Check ${METRIC.upstreamFailures} by ${DIMENSIONS.upstream} (${[...upstreams].sort().join(', ')}) ` +
        `and ${DIMENSIONS.reason} on the dashboard, and the functions' logs. docs/deploy.md#alarms`,
    });
    this.addAlarm('ApiLatencyP99', {
      metric: latencyP99,
      threshold: ALARM_THRESHOLDS.latencyP99Ms,
      evaluationPeriods: ALARM_THRESHOLDS.latencyEvaluationPeriods,
      alarmDescription:
        `API p99 latency above ${ALARM_THRESHOLDS.latencyP99Ms} ms for 15 minutes: an upstream is slow. Compare ` +
        `${upstreams.map((upstream) => UPSTREAM_LATENCY_METRICS[upstream]).join(', ')} on the dashboard. docs/deploy.md#alarms`,
    });
    for (const { spec: { name }, fn } of functions) {
      this.addAlarm(`${pascal(name)}Errors`, {
        metric: fn.metricErrors({ statistic: 'Sum', period: PERIOD }),
        threshold: ALARM_THRESHOLDS.functionErrors,
        evaluationPeriods: 1,
        alarmDescription:
          `The ${name} function crashed, timed out or failed to start (a configuration error fails every cold start). ` +
          'Its log group has the error. docs/deploy.md#alarms',
      });
      this.addAlarm(`${pascal(name)}Throttles`, {
        metric: fn.metricThrottles({ statistic: 'Sum', period: PERIOD }),
        threshold: ALARM_THRESHOLDS.functionThrottles,
        evaluationPeriods: 1,
        alarmDescription:
          `Lambda refused to run the ${name} function: it reached its reserved concurrency, or the account's ` +
          'concurrency is exhausted. Look for abuse of its route, or raise reservedConcurrency or the account quota. docs/deploy.md#alarms',
      });
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-par-proxy`,
      defaultInterval: Duration.hours(3),
    });
    const byFunction = (metric: (fn: lambda.IFunction, name: string) => cloudwatch.IMetric) =>
      functions.map(({ spec, fn }) => metric(fn, spec.name));
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'API requests and errors', left: [requests, clientErrors, serverErrors], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'API latency (ms)',
        left: [
          stage.metricLatency({ statistic: 'p50', period: PERIOD, label: 'Latency p50' }),
          latencyP99,
          stage.metricIntegrationLatency({ statistic: 'p99', period: PERIOD, label: 'Integration latency p99' }),
        ],
        leftAnnotations: [{ value: ALARM_THRESHOLDS.latencyP99Ms, label: 'p99 alarm' }],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: '5xx rate (%)',
        left: [serverErrorRate],
        leftAnnotations: [{ value: ALARM_THRESHOLDS.serverErrorRatePercent, label: 'alarm' }],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Lambda errors and throttles',
        left: byFunction((fn, name) => fn.metricErrors({ statistic: 'Sum', period: PERIOD, label: `${name} errors` })),
        right: byFunction((fn, name) => fn.metricThrottles({ statistic: 'Sum', period: PERIOD, label: `${name} throttles` })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda duration (ms)',
        left: byFunction((fn, name) => fn.metricDuration({ statistic: 'p50', period: PERIOD, label: `${name} p50` })),
        right: byFunction((fn, name) => fn.metricDuration({ statistic: 'p99', period: PERIOD, label: `${name} p99` })),
        width: 8,
      }),
      // Init duration is not a Lambda metric; the REPORT line of each cold start carries it.
      new cloudwatch.LogQueryWidget({
        title: 'Cold starts and init duration (ms)',
        logGroupNames: functions.map(({ logGroup }) => logGroup.logGroupName),
        queryLines: [
          'filter @type = "REPORT" and ispresent(@initDuration)',
          'stats count(*) as coldStarts, avg(@initDuration) as avgInitMs, pct(@initDuration, 99) as p99InitMs, max(@initDuration) as maxInitMs by @log',
        ],
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 8,
      }),
    );
    const proxyMetric = (metricName: MetricName, service: string, statistic: string, label: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [DIMENSIONS.service]: service },
        statistic,
        period: PERIOD,
        label,
      });
    // Every value of the metric's other dimensions (Upstream, Reason), one line each: a SEARCH matches
    // exactly the dimension set the functions publish it under.
    const everyValue = (metricName: MetricName) =>
      new cloudwatch.SearchExpression({
        expression: `SEARCH('{${[METRICS_NAMESPACE, ...METRIC_DIMENSIONS[metricName]].join(',')}} MetricName="${metricName}"', 'Sum', 300)`,
        label: '',
        period: PERIOD,
      });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Pushed authorization requests and tokens issued',
        left: functions.flatMap(({ spec }) =>
          successMetricsOf(spec).map((metricName) => proxyMetric(metricName, spec.name, 'Sum', `${spec.name} ${metricName}`)),
        ),
        width: 6,
      }),
      new cloudwatch.GraphWidget({ title: 'Refused (4xx) by who refused and reason', left: [everyValue(METRIC.refused)], width: 6 }),
      new cloudwatch.GraphWidget({
        title: 'Upstream failures (5xx) by upstream and reason',
        left: [everyValue(METRIC.upstreamFailures)],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Upstream latency p99 (ms)',
        // Each function's own upstreams: the authorization server, the secrets (when fetched), KMS
        // (request objects, client assertions, public keys), the bff's APIs.
        left: functions.flatMap(({ spec }) =>
          upstreamsOf(spec).map((upstream) => {
            const metricName = UPSTREAM_LATENCY_METRICS[upstream];
            return proxyMetric(metricName, spec.name, 'p99', `${spec.name} ${metricName.replace('Latency', '')}`);
          }),
        ),
        width: 6,
      }),
    );
    // A listed key KMS will not read is left out of the JWKS (the answer stays 200): the reasons are
    // in the jwks log group's lines, under keyFailures.
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'JWKS keys KMS could not read',
        left: functions
          .filter(({ spec }) => hasCapability(spec, ['publish-keys']))
          .map(({ spec }) => proxyMetric(METRIC.jwksKeyFailures, spec.name, 'Sum', METRIC.jwksKeyFailures)),
        width: 6,
      }),
    );
  }

  addAlarm(id: string, props: Omit<cloudwatch.AlarmProps, 'comparisonOperator' | 'treatMissingData'>): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      alarmName: `${Stack.of(this).stackName}-${id}`,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not an outage of this proxy: no data, no alarm.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
  }
}

function pascal(name: string): string {
  return name[0]!.toUpperCase() + name.slice(1);
}
