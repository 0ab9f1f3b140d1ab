import { Token } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionsFor, type FunctionName } from '../../functions/manifest.ts';

// A relay deployment (the default): par, token, jwks.
const FUNCTIONS = functionsFor('relay');
import { ALARM_THRESHOLDS } from '../../infra/monitoring.ts';
import { KEY_ADMIN_ACTIONS } from '../../infra/signing-key.ts';
import {
  asArray,
  functionEnv,
  functionLogicalId,
  functionProps,
  identityPermissions,
  keyByAlias,
  keyPolicyActions,
  kmsPermissions,
  refName,
  resources,
  roleLogicalId,
  routedTo,
  signingKeys,
  synthesize,
  type Synthesized,
} from './helpers.ts';

const NAMES = FUNCTIONS.map((fn) => fn.name as FunctionName);

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/par-proxy/client-Xy9AbC';
const OLD_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/0b5f2c1e-1111-2222-3333-444455556666';
const SYNTH_TIMEOUT = 60_000;

describe('ParProxyStack (defaults: client_secret_post, created secret)', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize({ alarmEmail: 'ops@example.com' });
  }, SYNTH_TIMEOUT);

  it('creates one retained RSA_2048 SIGN_VERIFY key with an alias and no automatic rotation', () => {
    const { template } = synth;
    expect(Object.keys(signingKeys(template))).toHaveLength(1);
    template.hasResource('AWS::KMS::Key', {
      Properties: { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', EnableKeyRotation: false },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/ParProxy/request-object' });
    // Generation 1 (docs/key-rotation.md): the same key under its generation's own alias.
    expect(keyByAlias(template, '/request-object-1')).toBe(keyByAlias(template, '/request-object'));
  });

  it('lets the account administer the key but never use it', () => {
    const { template } = synth;
    const key = Object.values(signingKeys(template))[0]!;
    const root = asArray((key.Properties!.KeyPolicy as { Statement: Array<{ Principal: { AWS: unknown } }> }).Statement)
      .map((s) => refName(s.Principal.AWS))
      .find((principal) => principal.includes(':root'));
    expect(root).toBeDefined();
    expect(keyPolicyActions(key, root!)).toEqual([...KEY_ADMIN_ACTIONS].sort());
    for (const forbidden of ['kms:*', 'kms:Sign', 'kms:GetPublicKey', 'kms:CreateGrant', 'kms:Verify']) {
      expect(keyPolicyActions(key, root!)).not.toContain(forbidden);
    }
  });

  it('names each function role in the key policy with exactly its key actions', () => {
    const { template } = synth;
    const key = Object.values(signingKeys(template))[0]!;
    const principal = (name: FunctionName) => `GetAtt:${roleLogicalId(template, name)}.Arn`;
    expect(keyPolicyActions(key, principal('par'))).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    expect(keyPolicyActions(key, principal('token'))).toEqual([]);
    expect(keyPolicyActions(key, principal('jwks'))).toEqual(['kms:GetPublicKey']);
    const principals = (key.Properties!.KeyPolicy as { Statement: Array<{ Principal: { AWS: unknown } }> }).Statement.map((s) =>
      refName(s.Principal.AWS),
    );
    expect(principals).toHaveLength(3);
  });

  it('gives each role exactly the permissions its function needs', () => {
    const { template } = synth;
    const key = `GetAtt:${keyByAlias(template, '/request-object')}.Arn`;
    const secret = `Ref:${Object.keys(resources(template, 'AWS::SecretsManager::Secret'))[0]}`;
    const secretKey = `GetAtt:${Object.keys(resources(template, 'AWS::KMS::Key')).find((id) => !(id in signingKeys(template)))}.Arn`;
    const logs = (name: string) => {
      const group = (functionProps(template, name as 'par').LoggingConfig as { LogGroup: unknown }).LogGroup;
      return `GetAtt:${refName(group).slice('Ref:'.length)}.Arn`;
    };
    expect(identityPermissions(template, 'par')).toEqual(
      [
        `kms:Decrypt ${secretKey}`,
        `kms:GetPublicKey ${key}`,
        `kms:Sign ${key}`,
        `logs:CreateLogStream ${logs('par')}`,
        `logs:PutLogEvents ${logs('par')}`,
        `secretsmanager:DescribeSecret ${secret}`,
        `secretsmanager:GetSecretValue ${secret}`,
      ].sort(),
    );
    expect(identityPermissions(template, 'token')).toEqual(
      [
        `kms:Decrypt ${secretKey}`,
        `logs:CreateLogStream ${logs('token')}`,
        `logs:PutLogEvents ${logs('token')}`,
        `secretsmanager:DescribeSecret ${secret}`,
        `secretsmanager:GetSecretValue ${secret}`,
      ].sort(),
    );
    expect(identityPermissions(template, 'jwks')).toEqual(
      [`kms:GetPublicKey ${key}`, `logs:CreateLogStream ${logs('jwks')}`, `logs:PutLogEvents ${logs('jwks')}`].sort(),
    );
  });

  it('has no wildcard in any IAM action or resource, and no managed policy', () => {
    const { template } = synth;
    for (const [id, policy] of Object.entries(resources(template, 'AWS::IAM::Policy'))) {
      const document = policy.Properties!.PolicyDocument as { Statement: Array<{ Action: unknown; Resource: unknown; NotAction?: unknown }> };
      for (const statement of document.Statement) {
        expect(statement.NotAction, id).toBeUndefined();
        for (const action of asArray(statement.Action as string | string[])) expect(action, id).not.toContain('*');
        // A log group's GetAtt Arn ends in ':*' (its streams, named by Lambda); it is a reference here, not a literal.
        for (const resource of asArray(statement.Resource)) expect(JSON.stringify(resource), id).not.toContain('*');
      }
    }
    for (const role of Object.values(resources(template, 'AWS::IAM::Role'))) {
      expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties!.Policies).toBeUndefined();
    }
    // Key policies use "*" as their resource: in a key policy it means "this key" (unavoidable).
    for (const key of Object.values(resources(template, 'AWS::KMS::Key'))) {
      for (const statement of (key.Properties!.KeyPolicy as { Statement: Array<{ Action: unknown; Resource: unknown }> }).Statement) {
        for (const action of asArray(statement.Action as string | string[])) expect(action).not.toContain('*');
        expect(statement.Resource).toBe('*');
      }
    }
  });

  it('runs every function on nodejs24.x arm64 with 512 MB, 10 s, ESM bundle entry and a one-month log group', () => {
    const { template } = synth;
    template.resourceCountIs('AWS::Lambda::Function', FUNCTIONS.length);
    for (const name of NAMES) {
      const props = functionProps(template, name);
      expect(props).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], MemorySize: 512, Timeout: 10, Handler: 'index.handler' });
      expect(functionEnv(template, name).NODE_OPTIONS).toBeUndefined();
      const group = refName((props.LoggingConfig as { LogGroup: unknown }).LogGroup).slice('Ref:'.length);
      expect(resources(template, 'AWS::Logs::LogGroup')[group]!.Properties!.RetentionInDays).toBe(30);
    }
    for (const group of Object.values(resources(template, 'AWS::Logs::LogGroup'))) {
      expect(group.Properties!.RetentionInDays).toBe(30);
    }
    // One per function, and the API's access logs.
    template.resourceCountIs('AWS::Logs::LogGroup', FUNCTIONS.length + 1);
  });

  it('sets the environment contract of each handler: what the context sets, and the stack\'s own ARNs', () => {
    const { template } = synth;
    const key = { 'Fn::GetAtt': [keyByAlias(template, '/request-object'), 'Arn'] };
    const secret = { Ref: Object.keys(resources(template, 'AWS::SecretsManager::Secret'))[0] };
    // Unset values are left out: the functions' defaults are the table's, as the stack's are.
    const client = {
      ISSUER: 'https://tenant.auth0.com/',
      CLIENT_ID: 'abc',
      CLIENT_SECRET_ID: secret,
      ALLOWED_ORIGINS: 'https://app.example.com',
      ALLOWED_REDIRECT_URIS: 'https://app.example.com/callback',
      KMS_KEY_ID: key,
    };
    expect(functionEnv(template, 'par')).toEqual(client);
    expect(functionEnv(template, 'token')).toEqual(client);
    expect(functionEnv(template, 'jwks')).toEqual({ KMS_KEY_ID: key });
    const explicit = synthesize({ signingAlg: 'PS256', clientAuthMethod: 'client_secret_post' }).template;
    for (const name of ['par', 'token', 'jwks'] as const) expect(functionEnv(explicit, name).SIGNING_ALG).toBe('PS256');
    expect(functionEnv(explicit, 'token').CLIENT_AUTH_METHOD).toBe('client_secret_post');
    expect(functionEnv(explicit, 'jwks').CLIENT_AUTH_METHOD).toBeUndefined();
  }, SYNTH_TIMEOUT);

  it('routes exactly the manifest\'s routes (POST /par, POST /token, GET /.well-known/jwks.json), each to its function, unauthenticated by design', () => {
    const { template } = synth;
    const declared = FUNCTIONS.flatMap((fn) => fn.routes.map((route) => `${route.method} ${route.path} -> ${functionLogicalId(template, fn.name)}`));
    expect(routedTo(template)).toEqual(declared.sort());
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', FUNCTIONS.length);
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
  });

  it('limits CORS to the configured origins', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['https://app.example.com'],
        AllowMethods: ['GET', 'POST', 'OPTIONS'],
        AllowHeaders: ['content-type'],
        AllowCredentials: false,
        MaxAge: 600,
      },
    });
  });

  it('throttles the default stage and writes JSON access logs', () => {
    const { template } = synth;
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] }, Format: Match.stringLikeRegexp('"status":"\\$context.status"') },
    });
    const stage = Object.values(resources(template, 'AWS::ApiGatewayV2::Stage'))[0]!;
    const format = (stage.Properties!.AccessLogSettings as { Format: string }).Format;
    expect(Object.keys(JSON.parse(format) as object)).toEqual(expect.arrayContaining(['requestId', 'ip', 'routeKey', 'status', 'responseLatency']));
  });

  it('alarms on 5xx rate, p99 latency, and each function\'s errors and throttles, to an SSL-only topic', () => {
    const { template } = synth;
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(2 + 2 * NAMES.length);
    const topic = { Ref: Object.keys(resources(template, 'AWS::SNS::Topic'))[0] };
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
        OKActions: [topic],
      });
    }
    const byName = (suffix: string) => alarms.find((a) => String(a.Properties!.AlarmName).endsWith(suffix))!.Properties!;
    expect(byName('ApiServerErrorRate')).toMatchObject({ Threshold: ALARM_THRESHOLDS.serverErrorRatePercent });
    expect(JSON.stringify(byName('ApiServerErrorRate').Metrics)).toContain('5xx');
    expect(byName('ApiLatencyP99')).toMatchObject({ Threshold: ALARM_THRESHOLDS.latencyP99Ms, EvaluationPeriods: 3 });
    expect(JSON.stringify(byName('ApiLatencyP99').Metrics)).toMatch(/"MetricName":"Latency".*"Stat":"p99"/);
    for (const fn of ['Par', 'Token', 'Jwks']) {
      expect(byName(`${fn}Errors`)).toMatchObject({ Threshold: 1, MetricName: 'Errors', Namespace: 'AWS/Lambda' });
      expect(byName(`${fn}Throttles`)).toMatchObject({ Threshold: 1, MetricName: 'Throttles', Namespace: 'AWS/Lambda' });
    }
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('has a dashboard with API, Lambda, init-duration and proxy metrics', () => {
    const dashboard = Object.values(resources(synth.template, 'AWS::CloudWatch::Dashboard'))[0]!;
    const body = JSON.stringify(dashboard.Properties!.DashboardBody);
    for (const needle of ['4xx', '5xx', 'Latency', 'p99', 'Throttles', 'Duration', '@initDuration', 'Pushed', 'TokensIssued', 'Refused', 'UpstreamFailures', 'KmsLatency', 'SecretsManagerLatency', 'AuthorizationServerLatency', 'JwksKeyFailures']) {
      expect(body).toContain(needle);
    }
  });

  it('creates the client secret without a value: Secrets Manager generates a placeholder at deploy time', () => {
    const { template } = synth;
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const secret = Object.values(resources(template, 'AWS::SecretsManager::Secret'))[0]!;
    expect(secret.Properties!.SecretString).toBeUndefined();
    expect(secret.Properties!.GenerateSecretString).toMatchObject({ GenerateStringKey: 'placeholder' });
    // The placeholder has no client_secret field, so the handlers refuse it instead of sending it.
    expect(String((secret.Properties!.GenerateSecretString as { SecretStringTemplate: string }).SecretStringTemplate)).not.toContain('client_secret');
  });

  it('is environment-agnostic and needs no lookup (synthesis without an AWS account)', () => {
    const { app, stack } = synth;
    expect(Token.isUnresolved(stack.account)).toBe(true);
    expect(Token.isUnresolved(stack.region)).toBe(true);
    expect(app.synth().manifest.missing ?? []).toEqual([]);
  });

  it('outputs the API and JWKS URLs, the key ARN and alias, and the secret ARN', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs).sort()).toEqual(['AlarmTopicArn', 'ApiUrl', 'JwksUrl', 'SecretArn', 'SigningKey1Arn', 'SigningKeyAlias', 'SigningKeyArn']);
    // The active key, and generation 1 by its number (docs/key-rotation.md).
    const key = { 'Fn::GetAtt': [keyByAlias(synth.template, '/request-object'), 'Arn'] };
    expect((outputs.SigningKeyArn as { Value: unknown }).Value).toEqual(key);
    expect((outputs.SigningKey1Arn as { Value: unknown }).Value).toEqual(key);
    expect(JSON.stringify(outputs.JwksUrl)).toContain('/.well-known/jwks.json');
  });
});

describe('ParProxyStack variants', () => {
  it('imports an existing secret by ARN: no secret resource, no value, grants on that exact ARN', () => {
    const { template } = synthesize({ clientSecretArn: SECRET_ARN, clientAuthMethod: 'client_secret_basic' });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toContain('SecretString');
    expect(json).not.toContain('GenerateSecretString');
    for (const name of ['par', 'token'] as const) {
      expect(identityPermissions(template, name)).toEqual(
        expect.arrayContaining([`secretsmanager:GetSecretValue ${SECRET_ARN}`, `secretsmanager:DescribeSecret ${SECRET_ARN}`]),
      );
      expect(functionEnv(template, name).CLIENT_SECRET_ID).toBe(SECRET_ARN);
    }
    expect(identityPermissions(template, 'jwks').join()).not.toContain('secretsmanager');
  }, SYNTH_TIMEOUT);

  it('private_key_jwt: no secret, no Secrets Manager permission; client assertions get their own key by default', () => {
    const { template } = synthesize({ clientAuthMethod: 'private_key_jwt' });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.resourceCountIs('AWS::KMS::Key', 2);
    expect(JSON.stringify(template.toJSON())).not.toContain('secretsmanager');
    const requestKey = `GetAtt:${keyByAlias(template, '/request-object')}.Arn`;
    const assertionKey = `GetAtt:${keyByAlias(template, '/client-assertion')}.Arn`;
    expect(assertionKey).not.toBe(requestKey);
    const assertionUse = [`kms:GetPublicKey ${assertionKey}`, `kms:Sign ${assertionKey}`];
    expect(kmsPermissions(template, 'token')).toEqual(assertionUse);
    expect(kmsPermissions(template, 'par')).toEqual([...assertionUse, `kms:GetPublicKey ${requestKey}`, `kms:Sign ${requestKey}`].sort());
    for (const name of ['par', 'token'] as const) {
      expect(functionEnv(template, name).CLIENT_SECRET_ID).toBeUndefined();
      expect(functionEnv(template, name).CLIENT_AUTH_METHOD).toBe('private_key_jwt');
      expect(functionEnv(template, name).CLIENT_ASSERTION_KMS_KEY_ID).toEqual({ 'Fn::GetAtt': [keyByAlias(template, '/client-assertion'), 'Arn'] });
    }
    expect(template.toJSON().Outputs.SecretArn).toBeUndefined();
  }, SYNTH_TIMEOUT);

  it('private_key_jwt with assertionKey=shared: par and token sign assertions with the request object key', () => {
    const { template } = synthesize({ clientAuthMethod: 'private_key_jwt', assertionKey: 'shared' });
    template.resourceCountIs('AWS::KMS::Key', 1);
    const key = `GetAtt:${keyByAlias(template, '/request-object')}.Arn`;
    for (const name of ['par', 'token'] as const) {
      expect(functionEnv(template, name).CLIENT_ASSERTION_KMS_KEY_ID).toBeUndefined();
      expect(kmsPermissions(template, name)).toEqual([`kms:GetPublicKey ${key}`, `kms:Sign ${key}`]);
    }
  }, SYNTH_TIMEOUT);

  it('assertionKey=published: the second key is published and signs nothing yet (the upgrade step)', () => {
    const { template } = synthesize({ clientAuthMethod: 'private_key_jwt', assertionKey: 'published' });
    const requestKey = `GetAtt:${keyByAlias(template, '/request-object')}.Arn`;
    const assertionKey = `GetAtt:${keyByAlias(template, '/client-assertion')}.Arn`;
    for (const name of ['par', 'token'] as const) {
      expect(functionEnv(template, name).CLIENT_ASSERTION_KMS_KEY_ID).toBeUndefined();
      expect(kmsPermissions(template, name)).toEqual([`kms:GetPublicKey ${requestKey}`, `kms:Sign ${requestKey}`]);
    }
    // Published like a rotation's next generation: a key that signs nothing yet.
    expect(functionEnv(template, 'jwks').CLIENT_ASSERTION_KMS_KEY_ID).toBeUndefined();
    expect(functionEnv(template, 'jwks').PUBLISHED_KMS_KEY_IDS).toEqual({ 'Fn::GetAtt': [keyByAlias(template, '/client-assertion'), 'Arn'] });
    expect(kmsPermissions(template, 'jwks')).toEqual([`kms:GetPublicKey ${assertionKey}`, `kms:GetPublicKey ${requestKey}`].sort());
  }, SYNTH_TIMEOUT);

  it('private_key_jwt with a separate assertion key: two keys, each used only by whom it must', () => {
    const { template } = synthesize({
      clientAuthMethod: 'private_key_jwt',
      assertionKey: 'separate',
      signingKid: 'ro-1',
      assertionKid: 'ca-1',
      keySpec: 'RSA_3072',
    });
    template.resourceCountIs('AWS::KMS::Key', 2);
    template.allResourcesProperties('AWS::KMS::Key', { KeySpec: 'RSA_3072', KeyUsage: 'SIGN_VERIFY' });
    const requestKey = `GetAtt:${keyByAlias(template, '/request-object')}.Arn`;
    const assertionKey = `GetAtt:${keyByAlias(template, '/client-assertion')}.Arn`;
    // Fixed kids: nobody but jwks reads a public key.
    expect(kmsPermissions(template, 'par')).toEqual([`kms:Sign ${assertionKey}`, `kms:Sign ${requestKey}`]);
    expect(kmsPermissions(template, 'token')).toEqual([`kms:Sign ${assertionKey}`]);
    expect(kmsPermissions(template, 'jwks')).toEqual([`kms:GetPublicKey ${assertionKey}`, `kms:GetPublicKey ${requestKey}`].sort());
    expect(functionEnv(template, 'token')).toMatchObject({ CLIENT_ASSERTION_KMS_KEY_ID: { 'Fn::GetAtt': [expect.stringContaining('ClientAssertionKey'), 'Arn'] }, CLIENT_ASSERTION_KID: 'ca-1', SIGNING_KID: 'ro-1' });
    expect(functionEnv(template, 'jwks')).toMatchObject({ CLIENT_ASSERTION_KMS_KEY_ID: expect.anything(), CLIENT_ASSERTION_KID: 'ca-1' });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  }, SYNTH_TIMEOUT);

  it('a fixed signingKid removes par\'s GetPublicKey; published keys are readable by jwks only', () => {
    const { template } = synthesize({ signingKid: 'k1', publishedKeyArns: OLD_KEY_ARN, signingAlg: 'RS256', keySpec: 'RSA_4096' });
    const key = `GetAtt:${keyByAlias(template, '/request-object')}.Arn`;
    expect(kmsPermissions(template, 'par')).toEqual([`kms:Sign ${key}`]);
    expect(kmsPermissions(template, 'jwks')).toEqual([`kms:GetPublicKey ${OLD_KEY_ARN}`, `kms:GetPublicKey ${key}`].sort());
    expect(functionEnv(template, 'jwks')).toMatchObject({ PUBLISHED_KMS_KEY_IDS: OLD_KEY_ARN, SIGNING_KID: 'k1', SIGNING_ALG: 'RS256' });
    template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'RSA_4096' });
  }, SYNTH_TIMEOUT);

  it('publicKeyReadByAccount adds kms:GetPublicKey, and only that, for the account', () => {
    const { template } = synthesize({ publicKeyReadByAccount: 'true' });
    const key = Object.values(signingKeys(template))[0]!;
    const statements = (key.Properties!.KeyPolicy as { Statement: Array<{ Sid?: string; Action: unknown }> }).Statement;
    expect(statements.find((s) => s.Sid === 'AccountReadsThePublicKey')?.Action).toBe('kms:GetPublicKey');
  }, SYNTH_TIMEOUT);

  it('takes throttling, memory, origins and endpoints from context', () => {
    const { template } = synthesize({
      throttleRateLimit: '10',
      throttleBurstLimit: '20',
      memorySize: '1024',
      allowedOrigins: 'https://a.example.com,https://b.example.com',
      parEndpoint: 'https://tenant.auth0.com/oauth/par',
      tokenEndpoint: 'https://tenant.auth0.com/oauth/token',
      requestObjectTtl: '90',
      upstreamTimeoutMs: '2000',
      allowedAuthorizationDetailsTypes: 'payment_initiation,account_information',
      stackName: 'ParProxyStaging',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 } });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: { AllowOrigins: ['https://a.example.com', 'https://b.example.com'] } });
    template.allResourcesProperties('AWS::Lambda::Function', { MemorySize: 1024 });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/ParProxyStaging/request-object' });
    expect(functionEnv(template, 'par')).toMatchObject({
      PAR_ENDPOINT: 'https://tenant.auth0.com/oauth/par',
      REQUEST_OBJECT_TTL: '90',
      UPSTREAM_TIMEOUT_MS: '2000',
      ALLOWED_ORIGINS: 'https://a.example.com,https://b.example.com',
      ALLOWED_AUTHORIZATION_DETAILS_TYPES: 'payment_initiation,account_information',
    });
    // par names the token endpoint to the SPA with DPOP=true (the htu of its proofs, RFC 9449 4.2).
    expect(functionEnv(template, 'par').TOKEN_ENDPOINT).toBe('https://tenant.auth0.com/oauth/token');
    expect(functionEnv(template, 'token')).toMatchObject({ TOKEN_ENDPOINT: 'https://tenant.auth0.com/oauth/token', UPSTREAM_TIMEOUT_MS: '2000' });
    expect(functionEnv(template, 'token').PAR_ENDPOINT).toBeUndefined();
    expect(functionEnv(template, 'jwks')).toMatchObject({ UPSTREAM_TIMEOUT_MS: '2000' });
  }, SYNTH_TIMEOUT);

  it('without alarmEmail still creates the topic, with no subscription', () => {
    const { template } = synthesize({});
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  }, SYNTH_TIMEOUT);
});
