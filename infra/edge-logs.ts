import { CfnOutput, Names, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { CLOUDFRONT_REGION, deliveryArnOf } from './firewall.ts';

/**
 * The fields of each access log record: an allow-list, so a field CloudFront adds later is not
 * logged by default. Left out: `cs-uri-query` (the bff callback's code and state), `cs(Cookie)`
 * (sealed sessions) and `cs(Referer)` (another page's URL, its query included).
 */
export const ACCESS_LOG_FIELDS = [
  'date',
  'time',
  'x-edge-location',
  'sc-bytes',
  'c-ip',
  'cs-method',
  'cs(Host)',
  'cs-uri-stem',
  'sc-status',
  'cs(User-Agent)',
  'x-edge-result-type',
  'x-edge-request-id',
  'x-host-header',
  'cs-protocol',
  'cs-bytes',
  'time-taken',
  'x-forwarded-for',
  'ssl-protocol',
  'ssl-cipher',
  'x-edge-response-result-type',
  'cs-protocol-version',
  'c-port',
  'time-to-first-byte',
  'x-edge-detailed-result-type',
  'sc-content-type',
  'sc-content-len',
] as const;

/** Fields that carry secrets: never in ACCESS_LOG_FIELDS (test/infra/firewall.test.ts holds it to this). */
export const SECRET_LOG_FIELDS = ['cs-uri-query', 'cs(Cookie)', 'cs(Referer)'] as const;

export interface EdgeLogsStackProps extends StackProps {
  /** The distribution whose requests are logged, a reference into the main stack. */
  readonly distributionArn: string;
  readonly logRetention: logs.RetentionDays;
}

/**
 * CloudFront standard logging (v2) of the edge: its delivery source must be created in us-east-1,
 * and it names the distribution, so it lives in a us-east-1 stack after the main one. Records go
 * to a log group here, with the fields above only (legacy logging always wrote the query string).
 */
export class EdgeLogsStack extends Stack {
  readonly logGroup: logs.LogGroup;
  readonly delivery: logs.CfnDelivery;

  constructor(scope: Construct, id: string, props: EdgeLogsStackProps) {
    super(scope, id, { ...props, env: { ...props.env, region: CLOUDFRONT_REGION } });
    // Client IP addresses: kept as long as the API's access logs, then gone.
    this.logGroup = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    // One name for the source and the destination (each unique among its kind), within their 60 characters.
    const name = Names.uniqueResourceName(this, { maxLength: 60, separator: '-' });
    const source = new logs.CfnDeliverySource(this, 'Source', {
      name,
      logType: 'ACCESS_LOGS',
      resourceArn: props.distributionArn,
    });
    const destination = new logs.CfnDeliveryDestination(this, 'Destination', {
      name,
      destinationResourceArn: deliveryArnOf(this.logGroup),
      outputFormat: 'json',
    });
    this.delivery = new logs.CfnDelivery(this, 'Delivery', {
      deliverySourceName: source.name,
      deliveryDestinationArn: destination.attrArn,
      recordFields: [...ACCESS_LOG_FIELDS],
    });
    this.delivery.addResourceDependency(source);
    new CfnOutput(this, 'AccessLogGroupName', { value: this.logGroup.logGroupName, description: 'The edge\'s access logs (us-east-1), without query strings, cookies or referers' });
  }
}
