import { ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { routePath, type FunctionSpec } from '../functions/manifest.ts';
import type { FirewallConfig } from './config.ts';

/** CloudFront's web ACLs, their logs and their metrics live in us-east-1 only. */
export const CLOUDFRONT_REGION = 'us-east-1';

/**
 * Headers whose values never reach the WAF log: the bff's session cookie, bearer and DPoP proofs,
 * and the edge's origin secret. The query string is redacted too (the callback's code and state).
 */
export const REDACTED_HEADERS = ['cookie', 'authorization', 'dpop', 'x-origin-verify'] as const;

/** The common rule set's rule that blocks bodies over 8 KB: counted instead where the bff forwards API calls. */
export const BODY_SIZE_RULE = 'SizeRestrictions_BODY';
const BODY_SIZE_LABEL = 'awswaf:managed:aws:core-rule-set:SizeRestrictions_Body';

/** A log group's ARN as log deliveries (WAF's, CloudFront's) take it: without the `:*` of its GetAtt. */
export function deliveryArnOf(group: logs.LogGroup): string {
  return Stack.of(group).formatArn({ service: 'logs', resource: 'log-group', resourceName: group.logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/** Blocked requests in 5 minutes that page a human: a rate rule holding back one client for a minute or more, or a scan. */
export const BLOCKED_REQUESTS_ALARM_THRESHOLD = 500;

/** The paths of the routes marked `login` in functions/manifest.ts, as the edge sees them. */
export function loginPaths(specs: readonly FunctionSpec[], basePath: string): string[] {
  return specs.flatMap((spec) => spec.routes.filter((route) => route.login === true).map((route) => routePath(spec, route.path, basePath)));
}

/**
 * The path prefixes under which a route forwards whatever the SPA sends (a greedy `{proxy+}`: the
 * bff's `/api/{name}/...`), so bodies of any size: `<basePath>/api/`.
 */
export function forwardedPrefixes(specs: readonly FunctionSpec[], basePath: string): string[] {
  return specs.flatMap((spec) =>
    spec.routes.filter((route) => route.path.endsWith('{proxy+}')).map((route) => {
      const path = routePath(spec, route.path, basePath);
      return path.slice(0, path.indexOf('{'));
    }),
  );
}

function pathIs(path: string, constraint: 'EXACTLY' | 'STARTS_WITH'): wafv2.CfnWebACL.StatementProperty {
  return {
    byteMatchStatement: {
      fieldToMatch: { uriPath: {} },
      positionalConstraint: constraint,
      searchString: path,
      textTransformations: [{ priority: 0, type: 'NONE' }],
    },
  };
}

function anyOf(statements: wafv2.CfnWebACL.StatementProperty[]): wafv2.CfnWebACL.StatementProperty {
  return statements.length === 1 ? statements[0]! : { orStatement: { statements } };
}

const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  // Sampled requests are kept unredacted by WAF: none are sampled (the logs below are redacted).
  sampledRequestsEnabled: false,
});

/** Over the limit: 429, which clients treat as "slow down", not 403. */
const TOO_MANY = { block: { customResponse: { responseCode: 429 } } };

function rateRule(name: string, limit: number, windowSeconds: number, scopeDown?: wafv2.CfnWebACL.StatementProperty): Omit<wafv2.CfnWebACL.RuleProperty, 'priority'> {
  return {
    name,
    action: TOO_MANY,
    // The viewer's address as CloudFront sees it, never a header the client could forge.
    statement: { rateBasedStatement: { aggregateKeyType: 'IP', limit, evaluationWindowSec: windowSeconds, ...(scopeDown === undefined ? {} : { scopeDownStatement: scopeDown }) } },
    visibilityConfig: visibility(name),
  };
}

function managedRule(name: string, ruleActionOverrides: wafv2.CfnWebACL.RuleActionOverrideProperty[] = []): Omit<wafv2.CfnWebACL.RuleProperty, 'priority'> {
  return {
    name,
    overrideAction: { none: {} },
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name, ...(ruleActionOverrides.length === 0 ? {} : { ruleActionOverrides }) } },
    visibilityConfig: visibility(name),
  };
}

/**
 * The web ACL's rules, in order: the tight per-IP rate on the login routes, the looser one on
 * everything, then the AWS managed groups that fit an API (IP reputation, common rule set, known
 * bad inputs). Where the bff forwards API calls, the common rule set's 8 KB body limit is counted
 * there and still blocks everywhere else.
 */
export function webAclRules(specs: readonly FunctionSpec[], basePath: string, config: FirewallConfig): wafv2.CfnWebACL.RuleProperty[] {
  const login = loginPaths(specs, basePath);
  const forwarded = forwardedPrefixes(specs, basePath);
  const rules: Array<Omit<wafv2.CfnWebACL.RuleProperty, 'priority'>> = [
    ...(login.length === 0 ? [] : [rateRule('LoginRateLimit', config.loginRateLimit, config.windowSeconds, anyOf(login.map((path) => pathIs(path, 'EXACTLY'))))]),
    rateRule('RateLimit', config.rateLimit, config.windowSeconds),
    managedRule('AWSManagedRulesAmazonIpReputationList'),
    managedRule('AWSManagedRulesCommonRuleSet', forwarded.length === 0 ? [] : [{ name: BODY_SIZE_RULE, actionToUse: { count: {} } }]),
    ...(forwarded.length === 0
      ? []
      : [
          {
            name: 'BodySizeOutsideForwardedApis',
            action: { block: {} },
            statement: {
              andStatement: {
                statements: [
                  { labelMatchStatement: { scope: 'LABEL', key: BODY_SIZE_LABEL } },
                  { notStatement: { statement: anyOf(forwarded.map((prefix) => pathIs(prefix, 'STARTS_WITH'))) } },
                ],
              },
            },
            visibilityConfig: visibility('BodySizeOutsideForwardedApis'),
          },
        ]),
    managedRule('AWSManagedRulesKnownBadInputsRuleSet'),
  ];
  return rules.map((rule, priority) => ({ ...rule, priority }));
}

export interface FirewallStackProps extends StackProps {
  /** The main stack's name: the web ACL's, and the prefix of the log group and alarm. */
  readonly name: string;
  readonly specs: readonly FunctionSpec[];
  readonly basePath: string;
  readonly config: FirewallConfig;
  readonly logRetention: logs.RetentionDays;
  readonly alarmEmail?: string;
}

/**
 * The edge's web ACL, in us-east-1 (CLOUDFRONT scope exists only there), with its redacted logs
 * and the alarm on blocked requests (its metric is in us-east-1 too, so its topic is).
 */
export class FirewallStack extends Stack {
  readonly webAcl: wafv2.CfnWebACL;
  readonly logGroup: logs.LogGroup;
  readonly alarm: cloudwatch.Alarm;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: FirewallStackProps) {
    super(scope, id, { ...props, env: { ...props.env, region: CLOUDFRONT_REGION } });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: props.name,
      description: 'PAR proxy edge: per-IP rates on the login routes and everything, AWS managed rules',
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      rules: webAclRules(props.specs, props.basePath, props.config),
      visibilityConfig: visibility(props.name),
    });

    // WAF writes only to a group named aws-waf-logs-*. The group outlives the stack (retained, as every
    // log group of the proxy): the stack's own id in its name keeps a re-created stack from colliding with it.
    const logGroupName = `aws-waf-logs-${props.name}-${Fn.select(2, Fn.split('/', this.stackId))}`;
    this.logGroup = new logs.LogGroup(this, 'WafLogs', {
      logGroupName,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new wafv2.CfnLoggingConfiguration(this, 'WafLogging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [deliveryArnOf(this.logGroup)],
      // SingleHeader is untyped in the CDK: its key as CloudFormation spells it.
      redactedFields: [{ queryString: {} }, ...REDACTED_HEADERS.map((name) => ({ singleHeader: { Name: name } }))],
    });

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: `${props.name} edge alarms`, enforceSSL: true });
    if (props.alarmEmail !== undefined) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    this.alarm = new cloudwatch.Alarm(this, 'BlockedRequests', {
      alarmName: `${props.name}-WafBlockedRequests`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/WAFV2',
        metricName: 'BlockedRequests',
        // A CloudFront web ACL's metrics have no Region dimension; Rule=ALL is the whole ACL.
        dimensionsMap: { WebACL: props.name, Rule: 'ALL' },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: BLOCKED_REQUESTS_ALARM_THRESHOLD,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `The edge's web ACL blocked ${BLOCKED_REQUESTS_ALARM_THRESHOLD} or more requests in 5 minutes: a client over a rate limit, ` +
        `or a scan. The aws-waf-logs-${props.name}-* log group (us-east-1) names the rule and the client IP. docs/deploy.md#alarms`,
    });
    const action = new SnsAction(this.alarmTopic);
    this.alarm.addAlarmAction(action);
    this.alarm.addOkAction(action);

    new CfnOutput(this, 'WebAclArn', { value: this.webAcl.attrArn, description: 'The edge\'s web ACL (CLOUDFRONT scope)' });
    new CfnOutput(this, 'WafLogGroupName', { value: this.logGroup.logGroupName, description: 'The web ACL\'s redacted request logs (us-east-1)' });
    new CfnOutput(this, 'EdgeAlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'The edge\'s alarm notifications (us-east-1); subscribe more endpoints here' });
  }
}
