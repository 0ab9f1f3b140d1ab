import { isAbsolute, join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ESBUILD_OPTIONS, FUNCTION_ENTRIES, FUNCTION_NAMES, PROJECT_ROOT, type FunctionName } from './bundling.ts';
import type { ClientSecret } from './client-secret.ts';
import { usesClientSecret, type InfraConfig, type SigningAlg } from './config.ts';
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

/** Tokens (ARNs) the environment refers to. */
export interface EnvironmentRefs {
  /** The active request object key. */
  readonly keyArn: string;
  /** The active client assertion key, when there is a second key. */
  readonly assertionKeyArn?: string;
  /** This stack's keys that are published without signing (inactive generations). */
  readonly publishedKeyArns?: readonly string[];
  readonly secretArn?: string;
}

/**
 * The environment each handler reads (functions/core/config.ts). Optional values are left out
 * rather than set empty, so the handlers' defaults apply.
 */
export function functionEnvironment(name: FunctionName, config: InfraConfig, refs: EnvironmentRefs): Record<string, string> {
  const env: Record<string, string | undefined> = {
    SIGNING_ALG: config.signingAlg,
    KMS_KEY_ID: refs.keyArn,
    SIGNING_KID: config.signingKid,
    UPSTREAM_TIMEOUT_MS: config.upstreamTimeoutMs?.toString(),
  };
  if (name === 'jwks') {
    env.CLIENT_ASSERTION_KMS_KEY_ID = refs.assertionKeyArn;
    env.CLIENT_ASSERTION_KID = refs.assertionKeyArn === undefined ? undefined : config.assertionKid;
    // This stack's inactive generations, then keys managed elsewhere.
    env.PUBLISHED_KMS_KEY_IDS = [...(refs.publishedKeyArns ?? []), ...config.publishedKeyArns].join(',') || undefined;
  } else {
    // With sharedAssertionKey the handlers sign client assertions with KMS_KEY_ID.
    const assertion = config.clientAuthMethod === 'private_key_jwt' && !config.sharedAssertionKey ? refs.assertionKeyArn : undefined;
    Object.assign(env, {
      ISSUER: config.issuer,
      CLIENT_ID: config.clientId,
      CLIENT_AUTH_METHOD: config.clientAuthMethod,
      CLIENT_SECRET_ID: usesClientSecret(config) ? refs.secretArn : undefined,
      CLIENT_ASSERTION_KMS_KEY_ID: assertion,
      CLIENT_ASSERTION_KID: assertion === undefined ? undefined : config.assertionKid,
      ALLOWED_ORIGINS: config.allowedOrigins.join(','),
      ALLOWED_REDIRECT_URIS: config.allowedRedirectUris.join(','),
    });
  }
  if (name === 'par') {
    Object.assign(env, {
      REQUEST_OBJECT_TTL: config.requestObjectTtl?.toString(),
      PAR_ENDPOINT: config.parEndpoint,
      AUTHORIZATION_ENDPOINT: config.authorizationEndpoint,
      ALLOWED_AUTHORIZATION_DETAILS_TYPES: config.allowedAuthorizationDetailsTypes.join(',') || undefined,
      ALLOW_PROMPT_NONE: config.allowPromptNone ? 'true' : undefined,
    });
  }
  if (name === 'token') env.TOKEN_ENDPOINT = config.tokenEndpoint;
  // NODE_OPTIONS=--enable-source-maps is deliberately absent: it costs cold-start time and makes
  // every stack trace slower; the shipped .map files decode traces offline instead.
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export interface ProxyFunctionsProps {
  readonly config: InfraConfig;
  readonly keys: SigningKeys;
  /** The client secret; absent with private_key_jwt. */
  readonly clientSecret?: ClientSecret;
  readonly logRetention: logs.RetentionDays;
  /** Entry files by function, absolute or relative to the project root. @default FUNCTION_ENTRIES */
  readonly entries?: Partial<Record<FunctionName, string>>;
}

export const DESCRIPTIONS: Record<FunctionName, string> = {
  par: 'POST /par: signs the authorization request with KMS and pushes it (RFC 9101, RFC 9126)',
  token: 'POST /token: redeems the authorization code with the client credentials',
  jwks: 'GET /.well-known/jwks.json: publishes the public signing keys',
};

/**
 * The three handlers, each with its own role, log group and nothing more than it needs:
 * par signs request objects and authenticates to the authorization server, token only
 * authenticates, jwks only reads public keys.
 */
export class ProxyFunctions extends Construct {
  readonly functions: Readonly<Record<FunctionName, lambda.Function>>;
  readonly logGroups: Readonly<Record<FunctionName, logs.LogGroup>>;
  readonly roles: Readonly<Record<FunctionName, iam.Role>>;

  constructor(scope: Construct, id: string, props: ProxyFunctionsProps) {
    super(scope, id);
    const { config, keys } = props;
    const refs: EnvironmentRefs = {
      keyArn: keys.requestObject.active.keyArn,
      assertionKeyArn: keys.assertion?.active.keyArn,
      publishedKeyArns: [...keys.requestObject.inactive, ...(keys.assertion?.inactive ?? [])].map((key) => key.keyArn),
      secretArn: props.clientSecret?.secret.secretArn,
    };
    const functions = {} as Record<FunctionName, lambda.Function>;
    const logGroups = {} as Record<FunctionName, logs.LogGroup>;
    const roles = {} as Record<FunctionName, iam.Role>;
    for (const name of FUNCTION_NAMES) {
      const pascal = name[0]!.toUpperCase() + name.slice(1);
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
        description: `${name} function of the PAR proxy`,
      });
      logGroup.grantWrite(role);
      const entry = props.entries?.[name] ?? FUNCTION_ENTRIES[name];
      functions[name] = new NodejsFunction(this, pascal, {
        entry: isAbsolute(entry) ? entry : join(PROJECT_ROOT, entry),
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: config.memorySize,
        // One abused route cannot take the others' concurrency, nor all of the account's.
        reservedConcurrentExecutions: config.reservedConcurrency?.[name],
        // API Gateway gives up at 30 s; the handlers budget 8 s for upstream calls inside this.
        timeout: Duration.seconds(10),
        description: DESCRIPTIONS[name],
        role,
        logGroup,
        environment: functionEnvironment(name, config, refs),
        bundling: cdkBundlingOptions(),
      });
      logGroups[name] = logGroup;
      roles[name] = role;
    }
    this.functions = functions;
    this.logGroups = logGroups;
    this.roles = roles;
    this.grantPermissions(props);
  }

  /**
   * A signer's permissions cover every listed generation of the key it signs with, not only the
   * active one: KMS applies a key policy change after a delay (usually seconds, sometimes minutes), so
   * a permission granted in the switch deploy could arrive after the first Sign with the new key, and
   * one revoked there could leave containers still signing with the old key without it. Granted from
   * the deploy that publishes a generation until the one that retires it, the switch changes no
   * permission at all. This grants nothing the authorization server would not accept anyway: every
   * listed generation is in the JWKS. With one generation (no rotation running), it is exactly the
   * active key.
   */
  private grantPermissions({ config, keys, clientSecret }: ProxyFunctionsProps): void {
    const { par, token, jwks } = this.roles;
    const alg = config.signingAlg;

    // par: sign request objects; read the public key only to derive the kid when none is configured.
    const parUse = new KeyUse(alg);
    parUse.addAll(keys.requestObject, 'kms:Sign');
    if (config.signingKid === undefined) parUse.addAll(keys.requestObject, 'kms:GetPublicKey');

    const tokenUse = new KeyUse(alg);
    if (config.clientAuthMethod === 'private_key_jwt') {
      // Client assertions: signed with the second key, or with the request object key when shared.
      const assertionKeys = config.sharedAssertionKey ? keys.requestObject : keys.assertion;
      if (assertionKeys === undefined) throw new Error('private_key_jwt without sharedAssertionKey needs the client assertion key');
      const assertionKid = config.sharedAssertionKey ? config.signingKid : config.assertionKid;
      for (const use of [parUse, tokenUse]) {
        use.addAll(assertionKeys, 'kms:Sign');
        if (assertionKid === undefined) use.addAll(assertionKeys, 'kms:GetPublicKey');
      }
    } else {
      if (clientSecret === undefined) throw new Error(`${config.clientAuthMethod} needs a client secret`);
      clientSecret.grantRead(par);
      clientSecret.grantRead(token);
    }
    parUse.grantTo(par);
    tokenUse.grantTo(token);

    // jwks: public keys only, of every key it publishes (every generation of both keys).
    const jwksUse = new KeyUse(alg);
    jwksUse.addAll(keys.requestObject, 'kms:GetPublicKey');
    if (keys.assertion !== undefined) jwksUse.addAll(keys.assertion, 'kms:GetPublicKey');
    jwksUse.grantTo(jwks);
    if (config.publishedKeyArns.length > 0) {
      // Keys outside this stack: their own key policies must allow this role too.
      iam.Grant.addToPrincipal({ grantee: jwks, actions: ['kms:GetPublicKey'], resourceArns: [...config.publishedKeyArns] });
    }
  }
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
