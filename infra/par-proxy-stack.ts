import { Annotations, App, CfnOutput, CrossStackReferences, Fn, Lazy, ReferenceStrength, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { functionsFor, hasCapability, JWKS_PATH, routePath, type FunctionSpec } from '../functions/manifest.ts';
import { ClientSecret } from './client-secret.ts';
import { Edge, edgeEnvironment } from './edge.ts';
import { hasAssertionKey, InfraConfigError, parseInfraConfig, usesClientSecret, type InfraConfig } from './config.ts';
import { EdgeLogsStack } from './edge-logs.ts';
import { FirewallStack } from './firewall.ts';
import { ProxyHttpApi } from './http-api.ts';
import { Monitoring } from './monitoring.ts';
import { OriginSecret } from './origin-secret.ts';
import { ProxyFunctions, sealsRefreshTokens } from './proxy-functions.ts';
import { SessionKeys } from './session-keys.ts';
import { SessionTable } from './session-table.ts';
import { SigningKeys, type SigningKeyGenerations } from './signing-key.ts';

/** Function and access logs: a month covers an incident found late and a billing cycle, then expires. */
export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

export interface ParProxyStackProps extends StackProps {
  readonly config: InfraConfig;
  /** @default the functions of config.proxyMode (functions/manifest.ts) */
  readonly functions?: readonly FunctionSpec[];
  /** With `edge=true`: the distribution's web ACL (infra/firewall.ts). */
  readonly webAclArn?: string;
}

/**
 * The whole proxy in one environment-agnostic stack: KMS signing key(s), the client secret, the
 * functions of functions/manifest.ts, the HTTP API and its monitoring. Synthesis needs no AWS account and no lookups.
 */
export class ParProxyStack extends Stack {
  readonly keys: SigningKeys;
  readonly clientSecret?: ClientSecret;
  /** bff mode: the session key material. */
  readonly sessionKeys?: SessionKeys;
  /** bff mode with sessionStore=dynamodb: the session table. */
  readonly sessionTable?: SessionTable;
  readonly functions: ProxyFunctions;
  readonly httpApi: ProxyHttpApi;
  readonly monitoring: Monitoring;
  /** With `edge=true`: the CloudFront distribution in front of the SPA and the proxy. */
  readonly edge?: Edge;
  /** With `edge=true`: the value CloudFront sends and the functions require (x-origin-verify). */
  readonly originSecret?: OriginSecret;

  constructor(scope: Construct, id: string, props: ParProxyStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.keys = new SigningKeys(this, 'SigningKeys', {
      keySpec: config.keySpec,
      aliasPrefix: `alias/${this.stackName}`,
      requestObjectGenerations: config.signingKeyGenerations,
      assertionKey: hasAssertionKey(config),
      assertionGenerations: config.assertionKeyGenerations,
      publicKeyReadByAccount: config.publicKeyReadByAccount,
    });
    if (usesClientSecret(config)) {
      this.clientSecret = new ClientSecret(this, 'ClientSecret', {
        existingSecretArn: config.clientSecretArn,
        breakGlassPrincipalArn: config.breakGlassPrincipalArn,
      });
    }
    const specs = props.functions ?? functionsFor(config.proxyMode);
    const sessions = specs.some((spec) => hasCapability(spec, ['session']));
    const dpop = specs.some((spec) => sealsRefreshTokens(spec, config));
    if (sessions || dpop) this.sessionKeys = new SessionKeys(this, 'SessionKeys');
    if (sessions && config.sessionStore === 'dynamodb') this.sessionTable = new SessionTable(this, 'SessionTable');
    if (config.edge !== undefined) this.originSecret = new OriginSecret(this, 'OriginSecret');
    // Behind the edge the SPA and the proxy live at the site's URL: the custom domain, or the distribution's
    // name, known once the distribution (built after the API, which needs the functions) exists: a lazy
    // token, resolved at synthesis.
    const domain = config.edge?.domain;
    const siteUrl = `https://${domain?.name ?? Lazy.string({ produce: () => this.edge!.distribution.distributionDomainName })}`;
    const derivedEnvironment = config.edge !== undefined ? edgeEnvironment(siteUrl, config.basePath, sessions) : {};
    this.functions = new ProxyFunctions(this, 'Functions', {
      config,
      keys: this.keys,
      clientSecret: this.clientSecret,
      sessionKeys: this.sessionKeys,
      originSecret: this.originSecret,
      sessionTable: this.sessionTable,
      logRetention: LOG_RETENTION,
      functions: specs,
      derivedEnvironment,
    });
    this.httpApi = new ProxyHttpApi(this, 'HttpApi', {
      functions: this.functions.deployed,
      allowedOrigins: config.allowedOrigins,
      basePath: config.basePath,
      description: sessions ? 'PAR proxy (bff mode): the bff\'s routes and the JWKS' : 'PAR proxy: /par, /token and the JWKS',
      throttle: config.throttle,
      logRetention: LOG_RETENTION,
      dpop,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stage: this.httpApi.stage,
      functions: this.functions.deployed,
      alarmEmail: config.alarmEmail,
    });
    this.sessionTable?.alarms((alarmId, alarm) => this.monitoring.addAlarm(alarmId, alarm));

    if (config.edge !== undefined) {
      // Never a distribution without its web ACL: addParProxyStack builds the us-east-1 stack that holds it.
      if (props.webAclArn === undefined) throw new Error('edge=true needs the web ACL of a FirewallStack (infra/firewall.ts): build the stacks with addParProxyStack');
      this.edge = new Edge(this, 'Edge', {
        config: config.edge,
        apiUrl: this.httpApi.url,
        specs,
        basePath: config.basePath,
        webAclArn: props.webAclArn,
        originVerifyHeader: this.originSecret!.headerValue(config.edge.originSecretVersionId),
      });
      // The functions start requiring the origin secret only after CloudFront sends it: CloudFormation
      // finishes a distribution's update once it is deployed, and updates the functions after it.
      for (const { fn } of this.functions.deployed) fn.node.addDependency(this.edge.distribution);
      new CfnOutput(this, 'AppUrl', { value: `${siteUrl}/`, description: 'The one URL users open: the SPA, with the proxy on the same origin' });
      new CfnOutput(this, 'DistributionId', { value: this.edge.distribution.distributionId, description: 'The CloudFront distribution, for invalidations and `aws cloudfront wait distribution-deployed --id`' });
      if (domain !== undefined && domain.hostedZone === undefined) {
        new CfnOutput(this, 'CnameTarget', {
          value: this.edge.distribution.distributionDomainName,
          description: `Point a CNAME record for ${domain.name} at this name (the distribution's) in your DNS`,
        });
      }
    }

    // bff mode without the edge: synthesis made sure the callback is on the SPA's site, served by the operator's own domain.
    const front = sessions && this.edge === undefined ? config.environment.REDIRECT_URI : undefined;
    // What the SPA calls: every route but the JWKS, which authorization servers read.
    const called = specs.flatMap((spec) =>
      spec.routes.filter((route) => route.path !== JWKS_PATH).map((route) => `${route.method} ${routePath(spec, route.path, config.basePath)}`),
    );
    new CfnOutput(this, 'ApiUrl', {
      value: this.httpApi.url,
      description:
        `Base URL of the proxy: ${called.join(', ')}${front === undefined ? '' : `. The browser calls it at ${new URL(front).origin}, a domain of the SPA's site mapped to this API (docs/deploy.md, "bff mode")`}` +
        (this.edge === undefined ? '' : '. Behind the edge it answers only CloudFront (x-origin-verify): call AppUrl'),
    });
    // Behind the edge the API answers only CloudFront's requests: the JWKS too is read through it.
    const publicUrl = this.edge === undefined ? this.httpApi.url : siteUrl;
    new CfnOutput(this, 'JwksUrl', { value: `${publicUrl}${JWKS_PATH}`, description: 'Public signing keys, for authorization servers that take a JWKS URL' });
    keyOutputs(this, 'SigningKey', 'request objects', this.keys.requestObject);
    if (this.keys.assertion !== undefined) keyOutputs(this, 'ClientAssertionKey', 'private_key_jwt client assertions', this.keys.assertion);
    if (this.clientSecret !== undefined) {
      new CfnOutput(this, 'SecretArn', {
        value: this.clientSecret.secret.secretArn,
        description: this.clientSecret.created
          ? 'Put the client secret here: aws secretsmanager put-secret-value --secret-id <this ARN> --secret-string <secret>'
          : 'The existing client secret the functions read',
      });
      if (!this.clientSecret.created) {
        new CfnOutput(this, 'SecretReaderRoleArns', {
          value: Fn.join(',', [...this.clientSecret.readerRoleArns]),
          description: 'The roles the imported secret\'s resource policy must let read it (docs/deploy.md, "Use an existing secret")',
        });
      }
    }
    if (this.sessionKeys !== undefined) {
      new CfnOutput(this, 'SessionKeysSecretArn', {
        value: this.sessionKeys.secret.secretArn,
        description: 'The bff\'s session key material, generated at deploy time; rotate it by putting a new random value (docs/deploy.md)',
      });
    }
    if (this.originSecret !== undefined) {
      new CfnOutput(this, 'OriginSecretArn', {
        value: this.originSecret.secret.secretArn,
        description: 'What CloudFront sends the API as x-origin-verify; rotate it by putting a new value, then deploying with -c originSecretVersionId (docs/deploy.md)',
      });
    }
    if (this.sessionTable !== undefined) {
      new CfnOutput(this, 'SessionTableName', {
        value: this.sessionTable.table.tableName,
        description: 'The bff\'s session table: npm run end-sessions -- --table <this> --sub <sub> ends every session of a user (docs/deploy.md)',
      });
    }
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.alarmTopic.topicArn, description: 'Alarm notifications; subscribe more endpoints here' });
  }
}

/**
 * `<name>Arn` and `<name>Alias`: the active key and its moving alias; `<name><N>Arn` for every listed
 * generation, so that the next key's public key can be read (and registered) before it signs, and the
 * retired key's ARN is at hand for its deletion.
 */
function keyOutputs(scope: Construct, name: string, purpose: string, keys: SigningKeyGenerations): void {
  new CfnOutput(scope, `${name}Arn`, { value: keys.active.keyArn, description: `KMS key that signs ${purpose} (generation ${keys.active.generation})` });
  new CfnOutput(scope, `${name}Alias`, { value: keys.alias.aliasName, description: `Alias of the key that signs ${purpose}` });
  for (const key of keys.all) {
    new CfnOutput(scope, `${name}${key.generation}Arn`, {
      value: key.keyArn,
      description: `Generation ${key.generation} of the key for ${purpose}: ${key === keys.active ? 'signs, and is published' : 'published in the JWKS, does not sign'}`,
    });
  }
}

/**
 * Reads the configuration from the app's context and adds the stack. Throws InfraConfigError
 * (naming the context key) when the configuration is missing or invalid. With `edge=true` two
 * us-east-1 stacks come with it (same account): the web ACL before it, the access log delivery
 * after it; without the edge it is the one environment-agnostic stack.
 */
export function addParProxyStack(app: App, overrides: Omit<Partial<ParProxyStackProps>, 'config'> = {}): ParProxyStack {
  const config = parseInfraConfig((key) => app.node.tryGetContext(key));
  const props = {
    stackName: config.stackName,
    description: 'PAR proxy: signs OAuth request objects with AWS KMS and pushes them to the authorization server',
    ...overrides,
    config,
  };
  if (config.edge === undefined) return new ParProxyStack(app, config.stackName, props);

  // References between regions need each stack's region at synthesis: the CLI's (credentials or
  // AWS_REGION), as `cdk deploy` passes it.
  const region = overrides.env?.region ?? process.env.CDK_DEFAULT_REGION;
  if (region === undefined) {
    throw new InfraConfigError([
      { name: 'edge', reason: '=true needs the region to deploy to at synthesis: run cdk with credentials for it, or set AWS_REGION (its us-east-1 stacks are referenced from it)' },
    ]);
  }
  const firewall = new FirewallStack(app, `${config.stackName}-Firewall`, {
    stackName: `${config.stackName}-Firewall`,
    description: 'PAR proxy edge: the CloudFront web ACL, its logs and its alarm (us-east-1)',
    name: config.stackName,
    specs: overrides.functions ?? functionsFor(config.proxyMode),
    basePath: config.basePath,
    config: config.edge.firewall,
    logRetention: LOG_RETENTION,
    alarmEmail: config.alarmEmail,
  });
  // Fn::GetStackOutput across regions: no custom resource, and WAF itself refuses to delete an ACL in use.
  CrossStackReferences.of(firewall.webAcl).produce(ReferenceStrength.WEAK);
  const stack = new ParProxyStack(app, config.stackName, { ...props, env: { ...overrides.env, region }, webAclArn: firewall.webAcl.attrArn });
  const distribution = stack.edge!.distribution;
  CrossStackReferences.of(distribution.node.defaultChild!).produce(ReferenceStrength.WEAK);
  new EdgeLogsStack(app, `${config.stackName}-EdgeLogs`, {
    stackName: `${config.stackName}-EdgeLogs`,
    description: 'PAR proxy edge: CloudFront standard logging v2 of the distribution (us-east-1)',
    distributionArn: distribution.distributionArn,
    logRetention: LOG_RETENTION,
  });
  return stack;
}
