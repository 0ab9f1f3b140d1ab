import { beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN_VERIFY_HEADER } from '../../functions/core/origin-verify.ts';
import type { FunctionName } from '../../functions/manifest.ts';
import { parseInfraConfig } from '../../infra/config.ts';
import { ORIGIN_SECRET_LENGTH } from '../../infra/origin-secret.ts';
import {
  BASE_CONTEXT,
  BFF_CONTEXT,
  functionEnv,
  functionLogicalId,
  guardedSecretKeyStatements,
  identityPermissions,
  keyPolicyActions,
  REGION_VIA_SECRETS_MANAGER,
  resources,
  roleLogicalId,
  synthesize,
  TEST_REGION,
  type Statement,
  type Synthesized,
} from './helpers.ts';

/**
 * Issue 13: the API answers only through the edge. CloudFront sends the origin secret as the API
 * origin's x-origin-verify header, from a dynamic reference that CloudFormation resolves (never the
 * value in the template); every function gets ORIGIN_SECRET_ID and may read it; nobody else but the
 * role CloudFormation deploys with. Without the edge there is no secret and no check.
 */
const SYNTH_TIMEOUT = 60_000;
const VERSION_ID = 'a1b2c3d4-e5f6-4711-8899-aabbccddeeff';

interface Origin {
  Id: string;
  OriginCustomHeaders?: Array<{ HeaderName: string; HeaderValue: unknown }>;
  CustomOriginConfig?: unknown;
}

const logicalId = (synth: Synthesized, token: string) => (synth.stack.resolve(token) as { Ref: string }).Ref;
const originSecretId = (synth: Synthesized) => logicalId(synth, synth.stack.originSecret!.secret.secretArn);
const origins = (synth: Synthesized) =>
  (Object.values(resources(synth.template, 'AWS::CloudFront::Distribution'))[0]!.Properties!.DistributionConfig as unknown as { Origins: Origin[] }).Origins;
/** The API's origin: the one behind the proxy's behaviours, an execute-api host. */
const apiOrigin = (synth: Synthesized) => origins(synth).find((origin) => JSON.stringify(origin).includes('.execute-api.'))!;
/** The reference CloudFormation resolves at deploy time, as the template writes it. */
const dynamicReference = (synth: Synthesized, versionId = '') => ({
  'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: originSecretId(synth) }, `:SecretString:::${versionId}}}`]],
});
// With the edge the stack has its region at synthesis (infra/firewall.ts), which the synthesizer writes as is.
const EXECUTION_ROLE = {
  'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/cdk-hnb659fds-cfn-exec-role-\${AWS::AccountId}-${TEST_REGION}`,
};

describe.each([
  // With the edge proxyMode defaults to bff, whose own URLs are the distribution's.
  ['relay', { proxyMode: 'relay' }, ['par', 'token', 'jwks']],
  ['bff', { ...BFF_CONTEXT, redirectUri: undefined, allowedOrigins: undefined }, ['bff', 'jwks']],
] as const)('edge=true, %s mode', (_mode, context, names: readonly FunctionName[]) => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize({ ...context, edge: 'true' });
  }, SYNTH_TIMEOUT);

  it('the API origin sends x-origin-verify from a dynamic reference to the generated secret, never a value; the SPA origin sends nothing', () => {
    expect(apiOrigin(synth).OriginCustomHeaders).toEqual([{ HeaderName: ORIGIN_VERIFY_HEADER, HeaderValue: dynamicReference(synth) }]);
    const others = origins(synth).filter((origin) => origin !== apiOrigin(synth));
    expect(others).toHaveLength(1);
    expect(others[0]!.OriginCustomHeaders).toBeUndefined();
    const secret = resources(synth.template, 'AWS::SecretsManager::Secret')[originSecretId(synth)]!;
    expect(secret.Properties!.GenerateSecretString).toEqual({ PasswordLength: ORIGIN_SECRET_LENGTH, ExcludePunctuation: true });
    expect(secret.Properties!.SecretString).toBeUndefined();
  });

  it('every function is updated after the distribution, so that it requires the header only once CloudFront sends it', () => {
    const [distribution] = Object.keys(resources(synth.template, 'AWS::CloudFront::Distribution'));
    const functions = resources(synth.template, 'AWS::Lambda::Function') as Record<string, { DependsOn?: string[] }>;
    for (const name of names) expect(functions[functionLogicalId(synth.template, name)]!.DependsOn, name).toContain(distribution);
  });

  it('every function gets ORIGIN_SECRET_ID, and GetSecretValue on that secret', () => {
    for (const name of names) {
      expect(functionEnv(synth.template, name).ORIGIN_SECRET_ID, name).toEqual({ Ref: originSecretId(synth) });
      expect(identityPermissions(synth.template, name), name).toContain(`secretsmanager:GetSecretValue Ref:${originSecretId(synth)}`);
    }
  });

  it('only the functions\' roles and CloudFormation\'s execution role get past its policy; its own key decrypts only through Secrets Manager', () => {
    const policy = Object.values(resources(synth.template, 'AWS::SecretsManager::ResourcePolicy')).find(
      (candidate) => JSON.stringify(candidate.Properties!.SecretId) === JSON.stringify({ Ref: originSecretId(synth) }),
    )!;
    const [deny] = (policy.Properties!.ResourcePolicy as unknown as { Statement: Statement[] }).Statement;
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 'secretsmanager:GetSecretValue' });
    const readers = (deny!.Condition!.ArnNotEquals as Record<string, unknown[]>)['aws:PrincipalArn'];
    const sorted = (arns: unknown[]) => arns.map((arn) => JSON.stringify(arn)).sort();
    expect(sorted(readers!)).toEqual(sorted([EXECUTION_ROLE, ...names.map((name) => ({ 'Fn::GetAtt': [roleLogicalId(synth.template, name), 'Arn'] }))]));
    const keyId = (resources(synth.template, 'AWS::SecretsManager::Secret')[originSecretId(synth)]!.Properties!.KmsKeyId as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const key = resources(synth.template, 'AWS::KMS::Key')[keyId]!;
    const statements = (key.Properties!.KeyPolicy as unknown as { Statement: Statement[] }).Statement;
    expect(statements.slice(0, 2)).toEqual(guardedSecretKeyStatements(TEST_REGION));
    for (const name of names) {
      expect(keyPolicyActions(key, `GetAtt:${roleLogicalId(synth.template, name)}.Arn`), name).toEqual(['kms:Decrypt']);
    }
    for (const statement of statements.slice(2)) expect(statement.Condition).toEqual({ StringEquals: { 'kms:ViaService': `secretsmanager.${TEST_REGION}.amazonaws.com` } });
  });

  it('outputs the secret\'s ARN, and the JWKS URL on the distribution: the execute-api URL refuses direct calls', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Description: string; Value: unknown }>;
    expect(outputs.OriginSecretArn!.Value).toEqual({ Ref: originSecretId(synth) });
    expect(outputs.OriginSecretArn!.Description).toContain('originSecretVersionId');
    expect(JSON.stringify(outputs.JwksUrl!.Value)).toContain('DomainName');
    expect(JSON.stringify(outputs.JwksUrl!.Value)).not.toContain('execute-api');
    expect(outputs.ApiUrl!.Description).toMatch(/answers only CloudFront \(x-origin-verify\): call AppUrl$/);
  });
});

describe('rotation: originSecretVersionId', () => {
  it('pins the header to that version, so that a new value changes the template and CloudFormation resolves it again', () => {
    const synth = synthesize({ edge: 'true', proxyMode: 'relay', originSecretVersionId: VERSION_ID });
    expect(apiOrigin(synth).OriginCustomHeaders).toEqual([{ HeaderName: ORIGIN_VERIFY_HEADER, HeaderValue: dynamicReference(synth, VERSION_ID) }]);
  }, SYNTH_TIMEOUT);

  it.each([
    [{ originSecretVersionId: VERSION_ID }, /"originSecretVersionId" applies only with edge=true/],
    [{ edge: 'true', originSecretVersionId: 'AWSCURRENT' }, /"originSecretVersionId" must be a Secrets Manager VersionId/],
    [{ edge: 'true', originSecretVersionId: `${VERSION_ID}}}` }, /"originSecretVersionId" must be a Secrets Manager VersionId/],
  ])('refuses %j', (context, message) => {
    expect(() => parseInfraConfig((key) => ({ ...BASE_CONTEXT, ...context })[key as keyof typeof context])).toThrow(message);
  });
});

describe('without the edge', () => {
  it('no origin secret, no ORIGIN_SECRET_ID, no output: the functions check nothing', () => {
    const synth = synthesize();
    expect(synth.stack.originSecret).toBeUndefined();
    expect(Object.keys(resources(synth.template, 'AWS::SecretsManager::Secret'))).toHaveLength(1);
    for (const name of ['par', 'token', 'jwks'] as const) expect(functionEnv(synth.template, name).ORIGIN_SECRET_ID, name).toBeUndefined();
    expect(synth.template.toJSON().Outputs.OriginSecretArn).toBeUndefined();
  }, SYNTH_TIMEOUT);
});
