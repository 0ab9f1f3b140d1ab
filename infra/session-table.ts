import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { SESSION_TABLE } from '../functions/core/session-store.ts';

/** The operations the bff makes: its alarms watch throttling and server errors of exactly these. */
const OPERATIONS = [
  dynamodb.Operation.GET_ITEM,
  dynamodb.Operation.PUT_ITEM,
  dynamodb.Operation.UPDATE_ITEM,
  dynamodb.Operation.DELETE_ITEM,
  dynamodb.Operation.QUERY,
];

/**
 * The bff's session table (sessionStore=dynamodb, SESSION_TABLE_NAME): on demand (a login burst
 * needs no capacity planning), TTL on the absolute end of each session and each logout token's jti,
 * point-in-time recovery, encrypted with its own customer-managed key, deletion protection and
 * retained with the stack. Two keys-only indexes: by-sub (end every session of a user, a logout
 * token with only a sub) and by-sid (back-channel logout by the authorization server's session, with
 * sub projected to check a token naming both). The records are sealed by the bff before they are
 * written (functions/adapters/dynamodb-session-store.ts): the key protects the rest (sub, sid, times).
 */
export class SessionTable extends Construct {
  readonly table: dynamodb.Table;
  readonly encryptionKey: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.encryptionKey = new kms.Key(this, 'Key', {
      description: `${Stack.of(this).stackName}: encrypts the bff's session table`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: SESSION_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: SESSION_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.encryptionKey,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: SESSION_TABLE.subIndex,
      partitionKey: { name: SESSION_TABLE.subAttribute, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: SESSION_TABLE.sidIndex,
      partitionKey: { name: SESSION_TABLE.sidAttribute, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [SESSION_TABLE.subAttribute],
    });
  }

  /**
   * What the bff does and nothing more: items by key (read, create, conditional update, delete) on
   * the table, Query on the two indexes (back-channel logout), and the key only through DynamoDB.
   * No Scan, no BatchWrite, no table management.
   */
  grantSessions(role: iam.IRole): void {
    const { tableArn } = this.table;
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resourceArns: [tableArn],
    });
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['dynamodb:Query'],
      resourceArns: [SESSION_TABLE.subIndex, SESSION_TABLE.sidIndex].map((index) => `${tableArn}/index/${index}`),
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [this.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  /** Throttled requests and DynamoDB's own errors (the bff answers them 503): any in 5 minutes pages. */
  alarms(add: (id: string, props: Omit<cloudwatch.AlarmProps, 'comparisonOperator' | 'treatMissingData'>) => void): void {
    const period = Duration.minutes(5);
    add('SessionTableThrottles', {
      metric: this.table.metricThrottledRequestsForOperations({ operations: OPERATIONS, period, label: 'Throttled requests' }),
      threshold: 1,
      evaluationPeriods: 1,
      alarmDescription:
        'The session table throttled the bff: its callers got 503 (nothing was lost; the SPA retries). On-demand tables throttle ' +
        'above twice their previous peak or a hot key: look for a burst or abuse. docs/deploy.md#alarms',
    });
    add('SessionTableErrors', {
      metric: this.table.metricSystemErrorsForOperations({ operations: OPERATIONS, period, label: 'System errors' }),
      threshold: 1,
      evaluationPeriods: 1,
      alarmDescription: 'DynamoDB failed requests of the session table (5xx): the bff answered 503. Check the AWS Health Dashboard. docs/deploy.md#alarms',
    });
  }
}
