import { Annotations, App, CfnOutput, Fn, Lazy, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { functionsFor, hasCapability, JWKS_PATH, routePath, type FunctionSpec } from '../functions/manifest.ts';
import { ClientSecret } from './client-secret.ts';
import { bffEdgeEnvironment, Edge } from './edge.ts';
import { hasAssertionKey, parseInfraConfig, usesClientSecret, type InfraConfig } from './config.ts';
import { ProxyHttpApi } from './http-api.ts';
import { Monitoring } from './monitoring.ts';
import { ProxyFunctions } from './proxy-functions.ts';
import { SessionKeys } from './session-keys.ts';
import { SessionTable } from './session-table.ts';
import { SigningKeys, type SigningKeyGenerations } from './signing-key.ts';

/**
 * Without the edge (`edge=true`, infra/edge.ts) serving the API on the SPA's site, a bff deployment answers on an
 * execute-api URL: another site than the SPA's, whose cookies Safari and Firefox drop as third-party.
 */
export const BFF_SAME_SITE_WARNING =
  'bff mode needs the API on the SPA\'s site: on its execute-api URL the session cookie is a third-party cookie, ' +
  'which Safari and Firefox drop. Serve it under a custom domain of the SPA\'s site (docs/deploy.md, "bff mode").';

/** Function and access logs: a month covers an incident found late and a billing cycle, then expires. */
export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

export interface ParProxyStackProps extends StackProps {
  readonly config: InfraConfig;
  /** @default the functions of config.proxyMode (functions/manifest.ts) */
  readonly functions?: readonly FunctionSpec[];
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
    if (sessions) this.sessionKeys = new SessionKeys(this, 'SessionKeys');
    if (sessions && config.sessionStore === 'dynamodb') this.sessionTable = new SessionTable(this, 'SessionTable');
    // The bff behind the edge lives at the distribution's URL, known once the distribution (built after
    // the API, which needs the functions) exists: a lazy token, resolved at synthesis.
    const siteUrl = `https://${Lazy.string({ produce: () => this.edge!.distribution.distributionDomainName })}`;
    const derivedEnvironment = config.edge !== undefined && sessions ? bffEdgeEnvironment(siteUrl, config.basePath) : {};
    this.functions = new ProxyFunctions(this, 'Functions', {
      config,
      keys: this.keys,
      clientSecret: this.clientSecret,
      sessionKeys: this.sessionKeys,
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
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stage: this.httpApi.stage,
      functions: this.functions.deployed,
      alarmEmail: config.alarmEmail,
    });
    this.sessionTable?.alarms((alarmId, alarm) => this.monitoring.addAlarm(alarmId, alarm));

    if (config.edge !== undefined) {
      this.edge = new Edge(this, 'Edge', {
        config: config.edge,
        apiUrl: this.httpApi.url,
        specs,
        basePath: config.basePath,
        logRetentionDays: LOG_RETENTION,
      });
      new CfnOutput(this, 'AppUrl', { value: `${siteUrl}/`, description: 'The one URL users open: the SPA, with the proxy on the same origin' });
    }
    const crossSite = sessions && this.edge === undefined;

    // What the SPA calls: every route but the JWKS, which authorization servers read.
    const called = specs.flatMap((spec) =>
      spec.routes.filter((route) => route.path !== JWKS_PATH).map((route) => `${route.method} ${routePath(spec, route.path, config.basePath)}`),
    );
    new CfnOutput(this, 'ApiUrl', {
      value: this.httpApi.url,
      description: `Base URL of the proxy: ${called.join(', ')}${crossSite ? `. ${BFF_SAME_SITE_WARNING}` : ''}`,
    });
    if (crossSite) Annotations.of(this).addWarningV2('par-proxy:bffSameSite', BFF_SAME_SITE_WARNING);
    new CfnOutput(this, 'JwksUrl', { value: `${this.httpApi.url}${JWKS_PATH}`, description: 'Public signing keys, for authorization servers that take a JWKS URL' });
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
 * (naming the context key) when the configuration is missing or invalid.
 */
export function addParProxyStack(app: App, overrides: Omit<Partial<ParProxyStackProps>, 'config'> = {}): ParProxyStack {
  const config = parseInfraConfig((key) => app.node.tryGetContext(key));
  return new ParProxyStack(app, config.stackName, {
    stackName: config.stackName,
    description: 'PAR proxy: signs OAuth request objects with AWS KMS and pushes them to the authorization server',
    ...overrides,
    config,
  });
}
