import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { functionsFor, hasCapability, type Capability, type FunctionName, type FunctionSpec } from '../functions/manifest.ts';
import { DPOP, settingsOf } from '../functions/settings/table.ts';
import { ESBUILD_OPTIONS, PROJECT_ROOT } from './bundling.ts';
import type { ClientSecret } from './client-secret.ts';
import type { InfraConfig, SigningAlg } from './config.ts';
import type { OriginSecret } from './origin-secret.ts';
import type { SessionKeys } from './session-keys.ts';
import type { SessionTable } from './session-table.ts';
import type { RsaSigningKey, SigningKeyGenerations, SigningKeys } from './signing-key.ts';

/** CloudWatch namespace of the functions' EMF metrics, as the functions write them. */
export { METRICS_NAMESPACE } from '../functions/app/observability.ts';

/** ESBUILD_OPTIONS (infra/bundling.ts) in NodejsFunction's words, so the CDK ships the benchmarked bundle. */
export function cdkBundlingOptions(): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: ESBUILD_OPTIONS.target,
    minify: ESBUILD_OPTIONS.minify,
    sourceMap: ESBUILD_OPTIONS.sourcemap,
    sourcesContent: ESBUILD_OPTIONS.sourcesContent,
    mainFields: [...ESBUILD_OPTIONS.mainFields],
    externalModules: [...ESBUILD_OPTIONS.external],
    banner: ESBUILD_OPTIONS.banner.js,
    // The project's own esbuild (node_modules), never a Docker image: CI and laptops need no Docker.
    forceDockerBundling: false,
    // Warnings and errors only: unset, the CDK passes no --log-level and esbuild's CLI prints a file
    // summary per function to the terminal (and into `npm test`); the CDK already names each asset.
    logLevel: LogLevel.WARNING,
  };
}

/**
 * The variables the stack fills from its own resources (`fromStack` in functions/settings/table.ts),
 * the same for every function that reads them.
 */
export function stackEnvironment(
  config: InfraConfig,
  keys: SigningKeys,
  clientSecret?: ClientSecret,
  sessionKeys?: SessionKeys,
  originSecret?: OriginSecret,
  sessionTable?: SessionTable,
): Record<string, string | undefined> {
  // A second key signs only in `separate`; while `published`, every generation is published only.
  const signingAssertions = config.assertionKey === 'separate' ? keys.assertion : undefined;
  const publishedOnly = [
    ...keys.requestObject.inactive,
    ...(signingAssertions === undefined ? (keys.assertion?.all ?? []) : signingAssertions.inactive),
  ];
  return {
    KMS_KEY_ID: keys.requestObject.active.keyArn,
    CLIENT_SECRET_ID: clientSecret?.secret.secretArn,
    CLIENT_ASSERTION_KMS_KEY_ID: signingAssertions?.active.keyArn,
    // This stack's keys that sign nothing, then keys managed elsewhere.
    PUBLISHED_KMS_KEY_IDS: [...publishedOnly.map((key) => key.keyArn), ...config.publishedKeyArns].join(',') || undefined,
    SESSION_KEYS_SECRET_ID: sessionKeys?.secret.secretArn,
    ORIGIN_SECRET_ID: originSecret?.secret.secretArn,
    SESSION_TABLE_NAME: sessionTable?.table.tableName,
  };
}

/**
 * The environment of one function: each setting it reads (functions/settings/table.ts, by its
 * capabilities), from the context, from the stack, or derived from other resources (`derived`: the
 * edge's URLs, tokens of the distribution) for what the context leaves unset. Unset values are left out rather than set
 * empty, so the functions' defaults apply.
 */
export function functionEnvironment(
  fn: FunctionSpec,
  config: InfraConfig,
  stack: Readonly<Record<string, string | undefined>>,
  derived: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const setting of settingsOf(fn)) {
    const name = setting.env!;
    if (setting.fromStack && !(name in stack)) throw new Error(`${name} is filled by the stack, which sets no value for it (stackEnvironment)`);
    // The context wins; a derived value (the edge's own URLs) fills only what it leaves unset.
    const value = setting.fromStack ? stack[name] : (config.environment[name] ?? derived[name]);
    if (value !== undefined) env[name] = value;
  }
  // NODE_OPTIONS=--enable-source-maps is deliberately absent: it costs cold-start time and makes
  // every stack trace slower; the shipped .map files decode traces offline instead.
  return env;
}

export interface ProxyFunctionsProps {
  readonly config: InfraConfig;
  readonly keys: SigningKeys;
  /** The client secret; absent with private_key_jwt. */
  readonly clientSecret?: ClientSecret;
  /** The bff's session key material; present when a function holds sessions. */
  readonly sessionKeys?: SessionKeys;
  /** Behind the edge: every function reads it, to refuse requests that bypassed the distribution. */
  readonly originSecret?: OriginSecret;
  /** sessionStore=dynamodb: the session table the session functions use. */
  readonly sessionTable?: SessionTable;
  readonly logRetention: logs.RetentionDays;
  /** @default the functions of config.proxyMode (functions/manifest.ts) */
  readonly functions?: readonly FunctionSpec[];
  /** Variables by name for the context keys left unset, from resources built later (CDK tokens). */
  readonly derivedEnvironment?: Readonly<Record<string, string>>;
}

export interface DeployedFunction {
  readonly spec: FunctionSpec;
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

/**
 * The functions of the manifest, each with its own role, log group and nothing more than its
 * capabilities need: request-objects signs request objects, oauth-client authenticates to the
 * authorization server (a secret, or assertion keys), publish-keys reads public keys, session reads
 * the session key material.
 */
export class ProxyFunctions extends Construct {
  readonly deployed: readonly DeployedFunction[];
  readonly functions: Readonly<Record<FunctionName, lambda.Function>>;
  readonly logGroups: Readonly<Record<FunctionName, logs.LogGroup>>;
  readonly roles: Readonly<Record<FunctionName, iam.Role>>;

  constructor(scope: Construct, id: string, props: ProxyFunctionsProps) {
    super(scope, id);
    const { config, keys } = props;
    const stack = stackEnvironment(config, keys, props.clientSecret, props.sessionKeys, props.originSecret, props.sessionTable);
    this.deployed = (props.functions ?? functionsFor(config.proxyMode)).map((spec) => {
      const pascal = spec.name[0]!.toUpperCase() + spec.name.slice(1);
      const logGroup = new logs.LogGroup(this, `${pascal}Logs`, {
        retention: props.logRetention,
        // The audit lines outlive the stack (and a replacement of the group); their retention still
        // applies. No fixed name, so a re-created stack gets new groups instead of colliding.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // An own role instead of the default one: the default attaches AWSLambdaBasicExecutionRole,
      // whose logs:CreateLogGroup and wildcard resources this function does not need.
      const role = new iam.Role(this, `${pascal}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `${spec.name} function of the PAR proxy`,
      });
      logGroup.grantWrite(role);
      const fn = new NodejsFunction(this, pascal, {
        entry: join(PROJECT_ROOT, spec.entry),
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: config.memorySize,
        // One abused route cannot take the others' concurrency, nor all of the account's.
        reservedConcurrentExecutions: config.reservedConcurrency?.[spec.name as FunctionName],
        // API Gateway gives up at 30 s; the handlers budget 8 s for upstream calls inside this.
        timeout: Duration.seconds(10),
        description: spec.description,
        role,
        logGroup,
        environment: functionEnvironment(spec, config, stack, props.derivedEnvironment),
        bundling: cdkBundlingOptions(),
      });
      grantCapabilities(spec, role, props);
      props.originSecret?.grantRead(role);
      return { spec, fn, role, logGroup };
    });
    const byName = <T>(pick: (deployed: DeployedFunction) => T) =>
      Object.fromEntries(this.deployed.map((deployed) => [deployed.spec.name, pick(deployed)])) as Record<FunctionName, T>;
    this.functions = byName((deployed) => deployed.fn);
    this.logGroups = byName((deployed) => deployed.logGroup);
    this.roles = byName((deployed) => deployed.role);
  }
}

/**
 * What each capability may do, and nothing else. A signer's permissions cover every listed
 * generation of the key it signs with, not only the active one: KMS applies a key policy change
 * after a delay (usually seconds, sometimes minutes), so a permission granted in the switch deploy
 * could arrive after the first Sign with the new key, and one revoked there could leave containers
 * still signing with the old key without it. Granted from the deploy that publishes a generation
 * until the one that retires it, the switch changes no permission at all. This grants nothing the
 * authorization server would not accept anyway: every listed generation is in the JWKS. With one
 * generation (no rotation running), it is exactly the active key.
 */
function grantCapabilities(spec: FunctionSpec, role: iam.Role, { config, keys, clientSecret, sessionKeys, sessionTable }: ProxyFunctionsProps): void {
  const use = new KeyUse(config.signingAlg);
  const has = (capability: Capability) => hasCapability(spec, [capability]);
  if (has('request-objects')) {
    // Read the public key only to derive the kid when none is configured.
    use.addAll(keys.requestObject, 'kms:Sign');
    if (config.signingKid === undefined) use.addAll(keys.requestObject, 'kms:GetPublicKey');
  }
  if (has('oauth-client') && config.clientAuthMethod === 'private_key_jwt') {
    // Client assertions: signed with the second key, or with the request object key until it signs.
    const separate = config.assertionKey === 'separate';
    const assertionKeys = separate ? keys.assertion! : keys.requestObject;
    use.addAll(assertionKeys, 'kms:Sign');
    if ((separate ? config.assertionKid : config.signingKid) === undefined) use.addAll(assertionKeys, 'kms:GetPublicKey');
  } else if (has('oauth-client')) {
    clientSecret!.grantRead(role);
  }
  if (has('publish-keys')) {
    // Public keys only, of every key it publishes (every generation of both keys).
    use.addAll(keys.requestObject, 'kms:GetPublicKey');
    if (keys.assertion !== undefined) use.addAll(keys.assertion, 'kms:GetPublicKey');
    if (config.publishedKeyArns.length > 0) {
      // Keys outside this stack: their own key policies must allow this role too.
      iam.Grant.addToPrincipal({ grantee: role, actions: ['kms:GetPublicKey'], resourceArns: [...config.publishedKeyArns] });
    }
  }
  if (has('session') || sealsRefreshTokens(spec, config)) {
    if (sessionKeys === undefined) throw new Error(`the ${spec.name} function seals with the session keys, and the stack has no session keys`);
    sessionKeys.grantRead(role);
    sessionTable?.grantSessions(role);
  }
  use.grantTo(role);
}

/** Relay's token function with DPOP=true: it seals the SPA's refresh tokens to its DPoP key with the session keys. */
export function sealsRefreshTokens(spec: FunctionSpec, config: Pick<InfraConfig, 'environment'>): boolean {
  return hasCapability(spec, ['refresh-binding']) && config.environment[DPOP.env] === 'true';
}

type KeyAction = 'kms:Sign' | 'kms:GetPublicKey';

/** Collects a function's actions per key, so each key gets exact statements per role. */
class KeyUse {
  private readonly uses = new Map<RsaSigningKey, Set<KeyAction>>();

  /** `alg`: the only algorithm kms:Sign is granted for. */
  constructor(private readonly alg: SigningAlg) {}

  add(key: RsaSigningKey, action: KeyAction): void {
    const actions = this.uses.get(key) ?? new Set<KeyAction>();
    actions.add(action);
    this.uses.set(key, actions);
  }

  /** `action` on every listed generation of a key. */
  addAll(keys: SigningKeyGenerations, action: KeyAction): void {
    for (const key of keys.all) this.add(key, action);
  }

  /** Sign and GetPublicKey as separate statements: only Sign carries conditions. */
  grantTo(grantee: iam.IGrantable): void {
    for (const [key, actions] of this.uses) {
      if (actions.has('kms:GetPublicKey')) key.grantReadPublicKey(grantee);
      if (actions.has('kms:Sign')) key.grantSign(grantee, this.alg);
    }
  }
}
