import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BFF_CONTEXT, refName, resources, synthesize } from './helpers.ts';

/** sessionStore=dynamodb (issue 15): the table, its grants and alarms, as CloudFormation gets them. */
describe('the session table (sessionStore=dynamodb)', () => {
  const { template } = synthesize({ ...BFF_CONTEXT, sessionStore: 'dynamodb', sessionIdleTimeout: '1800' });

  it('on demand, TTL, point-in-time recovery, a customer-managed key, deletion protection, retained; by-sub and by-sid indexes', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
        GlobalSecondaryIndexes: [
          { IndexName: 'by-sub', KeySchema: [{ AttributeName: 'sub', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
          { IndexName: 'by-sid', KeySchema: [{ AttributeName: 'sid', KeyType: 'HASH' }], Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['sub'] } },
        ],
      },
    });
  });

  it('the bff alone may use it: item actions on the table, Query on the two indexes, the key only via DynamoDB; no Scan, no wildcard', () => {
    const policies = Object.values(resources(template, 'AWS::IAM::Policy'));
    const statements = policies.flatMap((policy) => (policy.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
    const dynamo = statements.filter((statement) => JSON.stringify(statement.Action).includes('dynamodb:'));
    expect(dynamo.map((statement) => statement.Action)).toEqual([
      ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      'dynamodb:Query',
    ]);
    expect(JSON.stringify(dynamo)).not.toMatch(/"\*"|Scan|BatchWrite|dynamodb:\*/);
    const indexes = JSON.stringify(dynamo[1]!.Resource);
    expect(indexes.match(/\/index\/[a-z-]+/g)?.sort()).toEqual(['/index/by-sid', '/index/by-sub']);
    const key = statements.filter((statement) => JSON.stringify(statement.Condition ?? {}).includes('dynamodb.'));
    expect(key).toHaveLength(1);
    expect([...(key[0]!.Action as string[])].sort()).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
    // Only the bff's role holds these statements.
    const holders = policies.filter((policy) => JSON.stringify(policy.Properties!.PolicyDocument).includes('dynamodb:'));
    expect(holders.map((policy) => (policy.Properties!.Roles as unknown[]).map(refName)).flat()).toEqual([expect.stringMatching(/BffRole/)]);
  });

  it('the bff gets SESSION_STORE, SESSION_TABLE_NAME and SESSION_IDLE_TIMEOUT; alarms on throttles and errors', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SESSION_STORE: 'dynamodb', SESSION_TABLE_NAME: Match.anyValue(), SESSION_IDLE_TIMEOUT: '1800' }) },
    });
    const alarms = Object.keys(resources(template, 'AWS::CloudWatch::Alarm'));
    expect(alarms.filter((id) => /SessionTable(Throttles|Errors)/.test(id))).toHaveLength(2);
  });

  it('the cookie store creates no table', () => {
    synthesize({ ...BFF_CONTEXT }).template.resourceCountIs('AWS::DynamoDB::Table', 0);
  });
});
