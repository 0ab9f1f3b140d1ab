import { beforeAll, describe, expect, it } from 'vitest';
import { functionsFor, type FunctionName } from '../../functions/manifest.ts';

// A relay deployment (the default): par, token, jwks.
const FUNCTIONS = functionsFor('relay');
import {
  asArray,
  functionProps,
  guardedSecretKeyStatements,
  identityStatements,
  keyByAlias,
  refName,
  REGION_VIA_SECRETS_MANAGER,
  resources,
  roleLogicalId,
  SIGN_CONDITION,
  signingKeys,
  synthesize,
  type Statement,
  type Synthesized,
} from './helpers.ts';

const NAMES = FUNCTIONS.map((fn) => fn.name as FunctionName);

/**
 * SECURITY.md, threats 6 and 7: the grants match the threat model. A compromised function can sign
 * only digests with the configured algorithm, only the functions' roles (and a break-glass principal)
 * read the client secret, the logs outlive the stack, and no route can take the others' concurrency.
 */

const SYNTH_TIMEOUT = 60_000;
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/par-proxy/client-Xy9AbC';
const BREAK_GLASS = 'arn:aws:iam::111122223333:role/BreakGlass';

const arn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const roleArn = (synth: Synthesized, name: FunctionName) => arn(roleLogicalId(synth.template, name));
function keyStatements(synth: Synthesized, logicalId: string): Statement[] {
  const key = resources(synth.template, 'AWS::KMS::Key')[logicalId]!;
  return (key.Properties!.KeyPolicy as unknown as { Statement: Statement[] }).Statement;
}

const secretKeyId = (synth: Synthesized) => Object.keys(resources(synth.template, 'AWS::KMS::Key')).find((id) => !(id in signingKeys(synth.template)))!;
const mentions = (statement: Statement, action: string) => asArray(statement.Action).includes(action);
/** Every function role named by a key policy statement, as refNames. */
const principalsOf = (statement: Statement) => asArray((statement.Principal as { AWS: unknown }).AWS).map(refName);

/**
 * Every kms:Sign, in role policies and key policies, is a statement of its own with exactly the
 * conditions; GetPublicKey is never conditioned (nor merged with Sign). Returns the Sign statements.
 */
function signStatements(synth: Synthesized, kmsAlg: string): Statement[] {
  const all = [
    ...NAMES.flatMap((name) => identityStatements(synth, name)),
    ...Object.keys(signingKeys(synth.template)).flatMap((id) => keyStatements(synth, id)),
  ];
  for (const statement of all.filter((s) => mentions(s, 'kms:GetPublicKey'))) {
    expect(statement.Action).toBe('kms:GetPublicKey');
    expect(statement.Condition).toBeUndefined();
  }
  const signs = all.filter((s) => mentions(s, 'kms:Sign'));
  for (const statement of signs) {
    expect(statement.Action).toBe('kms:Sign');
    expect(statement.Effect).toBe('Allow');
    // Exactly StringEquals: no ForAllValues:/IfExists form, which a request without the key passes.
    expect(statement.Condition).toStrictEqual(SIGN_CONDITION(kmsAlg));
  }
  return signs;
}

describe('kms:Sign only for the configured algorithm and digests', () => {
  it('PS256 (default): par signs request objects, in its policy and in the key policy, RSASSA_PSS_SHA_256 over a DIGEST', () => {
    const synth = synthesize({});
    const key = keyByAlias(synth.template, '/request-object');
    expect(signStatements(synth, 'RSASSA_PSS_SHA_256')).toHaveLength(2);
    expect(identityStatements(synth, 'par')).toContainEqual({ Effect: 'Allow', Action: 'kms:Sign', Resource: arn(key), Condition: SIGN_CONDITION('RSASSA_PSS_SHA_256') });
    expect(identityStatements(synth, 'par')).toContainEqual({ Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: arn(key) });
    expect(keyStatements(synth, key)).toContainEqual({
      Effect: 'Allow',
      Principal: { AWS: roleArn(synth, 'par') },
      Action: 'kms:Sign',
      Resource: '*',
      Condition: SIGN_CONDITION('RSASSA_PSS_SHA_256'),
    });
  }, SYNTH_TIMEOUT);

  it.each([
    ['RS256', 'RSASSA_PKCS1_V1_5_SHA_256'],
    ['RS384', 'RSASSA_PKCS1_V1_5_SHA_384'],
  ])('%s with private_key_jwt and rotating keys: every Sign statement on every key carries %s', (signingAlg, kmsAlg) => {
    const synth = synthesize({ signingAlg, clientAuthMethod: 'private_key_jwt', signingKeyGenerations: '1,2', assertionKeyGenerations: '1,2' });
    const signs = signStatements(synth, kmsAlg);
    // Per role policy (par: 4 keys, token: 2) and per key policy: nothing unconditioned slipped through.
    const identitySigns = NAMES.flatMap((name) => identityStatements(synth, name)).filter((s) => mentions(s, 'kms:Sign'));
    expect(identitySigns.flatMap((s) => asArray(s.Resource))).toHaveLength(6);
    expect(signs.length - identitySigns.length).toBe(4);
  }, SYNTH_TIMEOUT);
});

describe('the client secret: readable by the functions\' roles and the break-glass principal only', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize({ breakGlassPrincipalArn: BREAK_GLASS });
  }, SYNTH_TIMEOUT);

  it('is encrypted with its own customer-managed key, rotation on', () => {
    const secret = Object.values(resources(synth.template, 'AWS::SecretsManager::Secret'))[0]!;
    expect(secret.Properties!.KmsKeyId).toEqual(arn(secretKeyId(synth)));
    const key = resources(synth.template, 'AWS::KMS::Key')[secretKeyId(synth)]!;
    expect(key.Properties).toMatchObject({ EnableKeyRotation: true, PendingWindowInDays: 30 });
    expect(key.Properties!.KeySpec ?? 'SYMMETRIC_DEFAULT').toBe('SYMMETRIC_DEFAULT');
  });

  it('its key: the account administers it and uses it only through Secrets Manager; the two roles decrypt through it', () => {
    const statements = keyStatements(synth, secretKeyId(synth));
    expect(statements).toHaveLength(3);
    expect(statements.slice(0, 2)).toEqual(guardedSecretKeyStatements());
    expect(statements[2]).toMatchObject({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:ViaService': REGION_VIA_SECRETS_MANAGER } } });
    expect(principalsOf(statements[2]!).sort()).toEqual([roleArn(synth, 'par'), roleArn(synth, 'token')].map(refName).sort());
    for (const statement of statements) {
      for (const use of ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:ReEncryptFrom']) {
        if (mentions(statement, use)) expect(statement.Condition?.StringEquals?.['kms:ViaService'], `${use} in ${statement.Sid}`).toEqual(REGION_VIA_SECRETS_MANAGER);
      }
    }
  });

  it('the roles\' own policies decrypt only through Secrets Manager; jwks gets nothing of the secret', () => {
    for (const name of ['par', 'token'] as const) {
      expect(identityStatements(synth, name)).toContainEqual({
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: arn(secretKeyId(synth)),
        Condition: { StringEquals: { 'kms:ViaService': REGION_VIA_SECRETS_MANAGER } },
      });
    }
    expect(JSON.stringify(identityStatements(synth, 'jwks'))).not.toMatch(/secretsmanager|kms:Decrypt/);
  });

  it('its resource policy denies GetSecretValue, and only that, to every principal but the two roles and the break-glass role', () => {
    const policies = Object.values(resources(synth.template, 'AWS::SecretsManager::ResourcePolicy'));
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties!.SecretId).toEqual({ Ref: Object.keys(resources(synth.template, 'AWS::SecretsManager::Secret'))[0] });
    // aws:PrincipalArn with an ARN operator, not NotPrincipal (which AWS advises against, and which
    // would have to list each assumed-role session).
    expect((policies[0]!.Properties!.ResourcePolicy as unknown as { Statement: Statement[] }).Statement).toEqual([
      {
        Sid: 'OnlyTheFunctionsReadTheSecret',
        Effect: 'Deny',
        Principal: '*',
        Action: 'secretsmanager:GetSecretValue',
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [roleArn(synth, 'par'), roleArn(synth, 'token'), BREAK_GLASS] } },
      },
    ]);
  });

  it('without a break-glass principal, only the two roles', () => {
    const plain = synthesize({});
    const policy = Object.values(resources(plain.template, 'AWS::SecretsManager::ResourcePolicy'))[0]!;
    const [statement] = (policy.Properties!.ResourcePolicy as unknown as { Statement: Statement[] }).Statement;
    expect(statement!.Condition).toEqual({ ArnNotEquals: { 'aws:PrincipalArn': [roleArn(plain, 'par'), roleArn(plain, 'token')] } });
  }, SYNTH_TIMEOUT);

  it('an imported secret gets no policy and no key from the stack; the roles to allow are an output', () => {
    const imported = synthesize({ clientSecretArn: SECRET_ARN });
    imported.template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
    expect(Object.keys(resources(imported.template, 'AWS::KMS::Key'))).toEqual(Object.keys(signingKeys(imported.template)));
    const outputs = imported.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.SecretReaderRoleArns!.Value).toEqual({ 'Fn::Join': [',', [roleArn(imported, 'par'), roleArn(imported, 'token')]] });
    expect(synth.template.toJSON().Outputs.SecretReaderRoleArns).toBeUndefined();
  }, SYNTH_TIMEOUT);
});

describe('logs outlive the stack; no route starves the others', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize({});
  }, SYNTH_TIMEOUT);

  it('every log group is retained on deletion and replacement, with a generated name', () => {
    const groups = Object.entries(resources(synth.template, 'AWS::Logs::LogGroup'));
    // One per function, and the API's access logs.
    expect(groups).toHaveLength(FUNCTIONS.length + 1);
    for (const [id, group] of groups) {
      expect([group.DeletionPolicy, group.UpdateReplacePolicy], id).toEqual(['Retain', 'Retain']);
      expect(group.Properties!.LogGroupName, id).toBeUndefined();
    }
  });

  it('reserves concurrency for each function: its figure in functions/manifest.ts (par 100, token 50, jwks 20) by default', () => {
    const reserved = (template: Synthesized['template']) => Object.fromEntries(NAMES.map((name) => [name, functionProps(template, name).ReservedConcurrentExecutions]));
    expect(reserved(synth.template)).toEqual(Object.fromEntries(FUNCTIONS.map((fn) => [fn.name, fn.reservedConcurrency])));
    expect(reserved(synth.template)).toMatchObject({ par: 100, token: 50, jwks: 20 });
  });

  it('takes other figures from context, and off reserves nothing', () => {
    const custom = synthesize({ reservedConcurrency: 'par=300,jwks=5' });
    expect(NAMES.map((name) => functionProps(custom.template, name).ReservedConcurrentExecutions)).toEqual(
      FUNCTIONS.map((fn) => ({ par: 300, jwks: 5 })[fn.name as string] ?? fn.reservedConcurrency),
    );
    const off = synthesize({ reservedConcurrency: 'off' });
    for (const name of NAMES) expect(functionProps(off.template, name).ReservedConcurrentExecutions).toBeUndefined();
    expect(() => synthesize({ reservedConcurrency: 'token=0' })).toThrow(/"reservedConcurrency" token=0 would stop the function/);
  }, SYNTH_TIMEOUT);
});
