import { App, type Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InfraConfigError, parseInfraConfig } from '../../infra/config.ts';
import { ACCESS_LOG_FIELDS, SECRET_LOG_FIELDS } from '../../infra/edge-logs.ts';
import { BLOCKED_REQUESTS_ALARM_THRESHOLD, CLOUDFRONT_REGION, REDACTED_HEADERS } from '../../infra/firewall.ts';
import { addParProxyStack, LOG_RETENTION } from '../../infra/par-proxy-stack.ts';
import { BASE_CONTEXT, BFF_CONTEXT, buildApp, cdkJsonContext, resources, stacksOf, TEST_REGION, type CfnResource } from './helpers.ts';

/**
 * Issue 13, the cross-region slice: the distribution's AWS WAF web ACL (CLOUDFRONT scope, so in
 * us-east-1) with its redacted logs and alarm, and CloudFront standard logging v2 (its delivery
 * source must be created in us-east-1 too) without the query string.
 */
const SYNTH_TIMEOUT = 60_000;
// The relay behind the edge (with the edge proxyMode defaults to bff).
const EDGE = { edge: 'true', proxyMode: 'relay' } as const;
const BFF_EDGE = { ...BFF_CONTEXT, edge: 'true', redirectUri: undefined, allowedOrigins: undefined } as const;

interface Edge {
  main: Template;
  firewall: Template;
  logs: Template;
  stacks: Record<string, Stack>;
}
function synthEdge(context: Record<string, unknown>): Edge {
  const { app } = buildApp(context);
  const stacks = stacksOf(app);
  return {
    main: Template.fromStack(stacks.ParProxy!),
    firewall: Template.fromStack(stacks['ParProxy-Firewall']!),
    logs: Template.fromStack(stacks['ParProxy-EdgeLogs']!),
    stacks,
  };
}

function only(template: Template, type: string): [string, CfnResource] {
  const found = Object.entries(resources(template, type));
  expect(found, type).toHaveLength(1);
  return found[0]!;
}

interface Statement {
  ByteMatchStatement?: { FieldToMatch: unknown; PositionalConstraint: string; SearchString: string; TextTransformations: unknown };
  OrStatement?: { Statements: Statement[] };
  NotStatement?: { Statement: Statement };
  AndStatement?: { Statements: Statement[] };
  LabelMatchStatement?: { Scope: string; Key: string };
  RateBasedStatement?: { AggregateKeyType: string; Limit: number; EvaluationWindowSec: number; ScopeDownStatement?: Statement };
  ManagedRuleGroupStatement?: { VendorName: string; Name: string; RuleActionOverrides?: Array<{ Name: string; ActionToUse: unknown }> };
}
interface Rule {
  Name: string;
  Priority: number;
  Action?: unknown;
  OverrideAction?: unknown;
  Statement: Statement;
  VisibilityConfig: { SampledRequestsEnabled: boolean; CloudWatchMetricsEnabled: boolean };
}
const aclOf = (edge: Edge) => only(edge.firewall, 'AWS::WAFv2::WebACL')[1].Properties! as unknown as { Name: string; Scope: string; DefaultAction: unknown; Rules: Rule[] };
const rule = (edge: Edge, name: string) => aclOf(edge).Rules.find((candidate) => candidate.Name === name);

/** The paths a statement matches exactly: one ByteMatch, or an Or of them. */
function exactPaths(statement: Statement): string[] {
  const matches = statement.OrStatement?.Statements ?? [statement];
  return matches.map((match) => {
    expect(match.ByteMatchStatement).toMatchObject({ FieldToMatch: { UriPath: {} }, PositionalConstraint: 'EXACTLY' });
    return match.ByteMatchStatement!.SearchString;
  }).sort();
}

describe('without edge=true', () => {
  const saved = process.env.CDK_DEFAULT_REGION;
  afterEach(() => {
    if (saved === undefined) delete process.env.CDK_DEFAULT_REGION;
    else process.env.CDK_DEFAULT_REGION = saved;
  });

  it('one environment-agnostic stack, as before: no us-east-1 stack, no web ACL, even when cdk passes a region', () => {
    process.env.CDK_DEFAULT_REGION = 'eu-central-1';
    const { app, stack } = buildApp({});
    expect(Object.keys(stacksOf(app))).toEqual(['ParProxy']);
    expect(Token.isUnresolved(stack.region)).toBe(true);
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).not.toMatch(/WAFv2|DeliverySource|GetStackOutput/);
  }, SYNTH_TIMEOUT);

  it('the web ACL\'s keys are refused without it', () => {
    for (const key of ['wafLoginRateLimit', 'wafRateLimit', 'wafRateWindow']) {
      expect(() => parseInfraConfig((name) => ({ ...BASE_CONTEXT, [key]: '300' } as Record<string, unknown>)[name]), key).toThrow(
        new RegExp(`"${key}" applies only with edge=true`),
      );
    }
  });

  it('with edge=true and no region at synthesis: one message naming edge, before any stack exists', () => {
    delete process.env.CDK_DEFAULT_REGION;
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...BASE_CONTEXT, ...EDGE } });
    expect(() => addParProxyStack(app)).toThrow(InfraConfigError);
    expect(() => addParProxyStack(app)).toThrow(/CDK context "edge" =true needs the region to deploy to at synthesis/);
    expect(Object.keys(stacksOf(app))).toEqual([]);
    // The region cdk passes is the one taken.
    process.env.CDK_DEFAULT_REGION = 'eu-central-1';
    expect(addParProxyStack(app).region).toBe('eu-central-1');
  });
});

describe('edge=true: three stacks, the web ACL and the access logs in us-east-1', () => {
  let edge: Edge;
  beforeAll(() => {
    edge = synthEdge(EDGE);
  }, SYNTH_TIMEOUT);

  it('the main stack in the region cdk passes, after the web ACL\'s; the access logs\' after it', () => {
    const { stacks } = edge;
    expect(Object.keys(stacks).sort()).toEqual(['ParProxy', 'ParProxy-EdgeLogs', 'ParProxy-Firewall']);
    expect(stacks.ParProxy!.region).toBe(TEST_REGION);
    expect(stacks['ParProxy-Firewall']!.region).toBe(CLOUDFRONT_REGION);
    expect(stacks['ParProxy-EdgeLogs']!.region).toBe(CLOUDFRONT_REGION);
    // Same account: none is pinned to one, credentials decide.
    for (const stack of Object.values(stacks)) expect(Token.isUnresolved(stack.account)).toBe(true);
    expect(stacks.ParProxy!.dependencies.map((stack) => stack.node.id)).toEqual(['ParProxy-Firewall']);
    expect(stacks['ParProxy-EdgeLogs']!.dependencies.map((stack) => stack.node.id)).toEqual(['ParProxy']);
  });

  it('the distribution\'s WebACLId is the web ACL\'s ARN, read across regions without a custom resource', () => {
    const [, distribution] = only(edge.main, 'AWS::CloudFront::Distribution');
    const webAclId = (distribution.Properties!.DistributionConfig as { WebACLId: { 'Fn::GetStackOutput': { StackName: string; Region: string; OutputName: string } } }).WebACLId;
    expect(webAclId['Fn::GetStackOutput']).toMatchObject({ StackName: 'ParProxy-Firewall', Region: CLOUDFRONT_REGION });
    const [aclId] = only(edge.firewall, 'AWS::WAFv2::WebACL');
    expect(edge.firewall.toJSON().Outputs[webAclId['Fn::GetStackOutput'].OutputName].Value).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    for (const template of [edge.main, edge.firewall, edge.logs]) {
      expect(Object.keys(resources(template, 'AWS::Lambda::Function')).filter((id) => /CrossRegion|Export/i.test(id))).toEqual([]);
      expect(JSON.stringify(template.toJSON())).not.toMatch(/Custom::CrossRegionExport/);
    }
  });

  it('a CLOUDFRONT web ACL allowing by default, its rules in order', () => {
    const acl = aclOf(edge);
    expect(acl).toMatchObject({ Name: 'ParProxy', Scope: 'CLOUDFRONT', DefaultAction: { Allow: {} } });
    expect(acl.Rules.map((r) => [r.Priority, r.Name])).toEqual([
      [0, 'LoginRateLimit'],
      [1, 'RateLimit'],
      [2, 'AWSManagedRulesAmazonIpReputationList'],
      [3, 'AWSManagedRulesCommonRuleSet'],
      [4, 'AWSManagedRulesKnownBadInputsRuleSet'],
    ]);
  });

  it('relay mode: 1000 requests per IP in 5 minutes on exactly /par and /token, 6000 on everything; over it, 429', () => {
    const login = rule(edge, 'LoginRateLimit')!;
    expect(login.Statement.RateBasedStatement).toMatchObject({ AggregateKeyType: 'IP', Limit: 1000, EvaluationWindowSec: 300 });
    expect(exactPaths(login.Statement.RateBasedStatement!.ScopeDownStatement!)).toEqual(['/par', '/token']);
    const all = rule(edge, 'RateLimit')!;
    expect(all.Statement.RateBasedStatement).toEqual({ AggregateKeyType: 'IP', Limit: 6000, EvaluationWindowSec: 300 });
    for (const r of [login, all]) expect(r.Action).toEqual({ Block: { CustomResponse: { ResponseCode: 429 } } });
  });

  it('the AWS managed groups, their own actions kept; relay mode has no forwarded bodies, so the 8 KB body rule blocks', () => {
    for (const name of ['AWSManagedRulesAmazonIpReputationList', 'AWSManagedRulesCommonRuleSet', 'AWSManagedRulesKnownBadInputsRuleSet']) {
      expect(rule(edge, name)).toMatchObject({ OverrideAction: { None: {} }, Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: name } } });
    }
    expect(rule(edge, 'AWSManagedRulesCommonRuleSet')!.Statement.ManagedRuleGroupStatement!.RuleActionOverrides).toBeUndefined();
  });

  it('no sampled requests (WAF cannot redact them: cookies and tokens in the console); metrics for every rule', () => {
    for (const r of aclOf(edge).Rules) expect(r.VisibilityConfig, r.Name).toEqual({ CloudWatchMetricsEnabled: true, MetricName: r.Name, SampledRequestsEnabled: false });
  });

  it('WAF logs: an aws-waf-logs-* group kept as long as the other logs and retained, the query string and secret headers redacted', () => {
    const [groupId, group] = only(edge.firewall, 'AWS::Logs::LogGroup');
    // Retained like every log group, so named after this very stack (its id's UUID): a re-created stack cannot collide.
    expect(group.Properties).toEqual({
      LogGroupName: { 'Fn::Join': ['', ['aws-waf-logs-ParProxy-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]] },
      RetentionInDays: LOG_RETENTION,
    });
    expect(group.DeletionPolicy).toBe('Retain');
    const [, logging] = only(edge.firewall, 'AWS::WAFv2::LoggingConfiguration');
    const [aclId] = only(edge.firewall, 'AWS::WAFv2::WebACL');
    expect(logging.Properties!.ResourceArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    // The group's ARN without the `:*` of its GetAtt, which WAF refuses.
    expect(logging.Properties!.LogDestinationConfigs).toEqual([
      { 'Fn::Join': ['', [`arn:aws:logs:${CLOUDFRONT_REGION}:`, { Ref: 'AWS::AccountId' }, ':log-group:', { Ref: groupId }]] },
    ]);
    expect(logging.Properties!.RedactedFields).toEqual([
      { QueryString: {} },
      { SingleHeader: { Name: 'cookie' } },
      { SingleHeader: { Name: 'authorization' } },
      { SingleHeader: { Name: 'dpop' } },
      { SingleHeader: { Name: 'x-origin-verify' } },
    ]);
    expect([...REDACTED_HEADERS]).toEqual(['cookie', 'authorization', 'dpop', 'x-origin-verify']);
  });

  it('an alarm on the whole ACL\'s blocked requests, to a topic of its own region', () => {
    const [topicId] = only(edge.firewall, 'AWS::SNS::Topic');
    const [, alarm] = only(edge.firewall, 'AWS::CloudWatch::Alarm');
    expect(alarm.Properties).toMatchObject({
      AlarmName: 'ParProxy-WafBlockedRequests',
      Namespace: 'AWS/WAFV2',
      MetricName: 'BlockedRequests',
      Statistic: 'Sum',
      Period: 300,
      Threshold: BLOCKED_REQUESTS_ALARM_THRESHOLD,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
    });
    // CloudFront web ACLs' metrics carry no Region dimension.
    expect(alarm.Properties!.Dimensions).toEqual([{ Name: 'Rule', Value: 'ALL' }, { Name: 'WebACL', Value: aclOf(edge).Name }]);
    edge.firewall.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('access logs: standard logging v2 of this distribution into a us-east-1 log group, kept as long as the other logs', () => {
    const [distributionId] = only(edge.main, 'AWS::CloudFront::Distribution');
    const [, source] = only(edge.logs, 'AWS::Logs::DeliverySource');
    expect(source.Properties!.LogType).toBe('ACCESS_LOGS');
    const distributionOutput = JSON.stringify(source.Properties!.ResourceArn);
    expect(distributionOutput).toContain('"Fn::GetStackOutput":{"StackName":"ParProxy","Region":"eu-west-1"');
    const outputName = /"OutputName":"(\w+)"/.exec(distributionOutput)![1]!;
    expect(edge.main.toJSON().Outputs[outputName].Value).toEqual({ Ref: distributionId });
    const [groupId, group] = only(edge.logs, 'AWS::Logs::LogGroup');
    // Retained with a generated name, as every log group of the main stack (test/infra/grants.test.ts).
    expect(group).toMatchObject({ Properties: { RetentionInDays: LOG_RETENTION }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(group.Properties!.LogGroupName).toBeUndefined();
    const [destinationId, destination] = only(edge.logs, 'AWS::Logs::DeliveryDestination');
    expect(JSON.stringify(destination.Properties!.DestinationResourceArn)).toContain(`{"Ref":"${groupId}"}`);
    const [, delivery] = only(edge.logs, 'AWS::Logs::Delivery');
    expect(delivery.Properties!.DeliveryDestinationArn).toEqual({ 'Fn::GetAtt': [destinationId, 'Arn'] });
    expect(delivery.Properties!.DeliverySourceName).toBe(source.Properties!.Name);
  });

  it('the access logs never record the query string (the callback\'s code and state), cookies or the Referer', () => {
    const [, delivery] = only(edge.logs, 'AWS::Logs::Delivery');
    // Without RecordFields CloudFront logs its default fields, the query string among them.
    const fields = delivery.Properties!.RecordFields as string[];
    expect(fields).toEqual([...ACCESS_LOG_FIELDS]);
    expect(fields).toContain('cs-uri-stem');
    expect(fields).not.toContain('cs-uri-query');
    for (const secret of SECRET_LOG_FIELDS) expect(fields, secret).not.toContain(secret);
    expect([...SECRET_LOG_FIELDS]).toEqual(['cs-uri-query', 'cs(Cookie)', 'cs(Referer)']);
  });
});

describe('edge=true, bff mode', () => {
  it('under a base path: the login rate covers exactly <basePath>/par and /callback; the 8 KB body rule counts only under <basePath>/api/', () => {
    const edge = synthEdge({ ...BFF_EDGE, basePath: '/auth' });
    expect(exactPaths(rule(edge, 'LoginRateLimit')!.Statement.RateBasedStatement!.ScopeDownStatement!)).toEqual(['/auth/callback', '/auth/par']);
    expect(rule(edge, 'AWSManagedRulesCommonRuleSet')!.Statement.ManagedRuleGroupStatement!.RuleActionOverrides).toEqual([
      { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
    ]);
    const bodySize = rule(edge, 'BodySizeOutsideForwardedApis')!;
    expect(bodySize.Priority).toBeGreaterThan(rule(edge, 'AWSManagedRulesCommonRuleSet')!.Priority);
    expect(bodySize.Action).toEqual({ Block: {} });
    const [label, notForwarded] = bodySize.Statement.AndStatement!.Statements as [Statement, Statement];
    expect(label.LabelMatchStatement).toEqual({ Scope: 'LABEL', Key: 'awswaf:managed:aws:core-rule-set:SizeRestrictions_Body' });
    expect(notForwarded.NotStatement!.Statement.ByteMatchStatement).toMatchObject({ FieldToMatch: { UriPath: {} }, PositionalConstraint: 'STARTS_WITH', SearchString: '/auth/api/' });
    expect(aclOf(edge).Rules.map((r) => r.Priority)).toEqual([0, 1, 2, 3, 4, 5]);
  }, SYNTH_TIMEOUT);

  it('without a base path: /par and /callback; limits, window and the alarm e-mail from the context', () => {
    const edge = synthEdge({ ...BFF_EDGE, wafLoginRateLimit: '200', wafRateLimit: '2000', wafRateWindow: '60', alarmEmail: 'ops@example.com' });
    const login = rule(edge, 'LoginRateLimit')!.Statement.RateBasedStatement!;
    expect(exactPaths(login.ScopeDownStatement!)).toEqual(['/callback', '/par']);
    expect(login).toMatchObject({ Limit: 200, EvaluationWindowSec: 60 });
    expect(rule(edge, 'RateLimit')!.Statement.RateBasedStatement).toMatchObject({ Limit: 2000, EvaluationWindowSec: 60 });
    edge.firewall.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  }, SYNTH_TIMEOUT);
});

describe('the web ACL\'s context keys (functions/settings/table.ts)', () => {
  const parse = (extra: Record<string, unknown>) => parseInfraConfig((name) => ({ ...BASE_CONTEXT, ...EDGE, ...extra } as Record<string, unknown>)[name]);
  const keysOf = (extra: Record<string, unknown>) => {
    try {
      parse(extra);
      return [];
    } catch (error) {
      return (error as InfraConfigError).keys;
    }
  };

  it('defaults: 1000 and 6000 per 5 minutes, one IP far below Auth0\'s PAR limit, the KMS quota and the stage throttle', () => {
    const config = parse({});
    expect(config.edge!.firewall).toEqual({ loginRateLimit: 1000, rateLimit: 6000, windowSeconds: 300 });
    const { loginRateLimit, rateLimit, windowSeconds } = config.edge!.firewall;
    const AUTH0_PAR_PER_IP_PER_SECOND = 100;
    const KMS_RSA_SIGN_PER_SECOND = 500;
    // Every login request is at most one KMS signature and one call to the authorization server.
    expect(loginRateLimit / windowSeconds).toBeLessThan(config.throttle.rateLimit / 10);
    expect(loginRateLimit / windowSeconds).toBeLessThan(AUTH0_PAR_PER_IP_PER_SECOND / 10);
    expect(loginRateLimit / windowSeconds).toBeLessThan(KMS_RSA_SIGN_PER_SECOND / 100);
    // The looser rule still cannot take the whole stage throttle from one address.
    expect(rateLimit / windowSeconds).toBeLessThan(config.throttle.rateLimit);
  });

  it('WAF\'s bounds: limits from 10, a window of 60, 120, 300 or 600 seconds', () => {
    expect(keysOf({ wafLoginRateLimit: '9' })).toEqual(['wafLoginRateLimit']);
    expect(keysOf({ wafRateLimit: '1e4' })).toEqual(['wafRateLimit']);
    expect(keysOf({ wafRateWindow: '90' })).toEqual(['wafRateWindow']);
    expect(() => parse({ wafRateWindow: '90' })).toThrow(/"wafRateWindow" must be one of 60, 120, 300, 600, got 90/);
    expect(parse({ wafLoginRateLimit: '10', wafRateLimit: '10', wafRateWindow: '600' }).edge!.firewall).toEqual({ loginRateLimit: 10, rateLimit: 10, windowSeconds: 600 });
  });

  it('the login limit cannot exceed the looser one, which counts the login routes too', () => {
    expect(() => parse({ wafLoginRateLimit: '7000' })).toThrow(/"wafLoginRateLimit" must not exceed wafRateLimit \(6000\)/);
    // A bad wafRateLimit is named once, not also as a limit the login one exceeds.
    expect(keysOf({ wafLoginRateLimit: '7000', wafRateLimit: 'x' })).toEqual(['wafRateLimit']);
  });
});
