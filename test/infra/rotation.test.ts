import { beforeAll, describe, expect, it } from 'vitest';
import { loadJwksConfig, loadParConfig, loadTokenConfig } from '../../functions/core/config.ts';
import {
  assertionKeyOf,
  functionEnv,
  keyByAlias,
  keyLogicalIdOf,
  keyPolicyActions,
  kmsPermissions,
  resolvedEnv,
  resources,
  roleLogicalId,
  signingKeys,
  synthesize,
  wildcards,
  type Synthesized,
} from './helpers.ts';

const SYNTH_TIMEOUT = 60_000;
const EXTERNAL_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/0b5f2c1e-1111-2222-3333-444455556666';

/**
 * The logical ids of the stacks deployed before key generations existed. A changed key id would
 * replace the key (a new public key nobody registered), and a changed alias id would fail the deploy
 * (CloudFormation creates the renamed alias before deleting the old one, and KMS refuses a second
 * alias of the same name).
 */
const REQUEST_OBJECT_KEY_1 = 'SigningKeysRequestObjectKeyCC553E85';
const REQUEST_OBJECT_ALIAS = 'SigningKeysRequestObjectKeyAlias83D94C99';
const ASSERTION_KEY_1 = 'SigningKeysClientAssertionKey840CE91F';
const ASSERTION_ALIAS = 'SigningKeysClientAssertionKeyAliasD4E4BC5E';

const ROTATION = {
  published: { signingKeyGenerations: '1,2' },
  switched: { signingKeyGenerations: '1,2', activeSigningKey: '2' },
  retired: { signingKeyGenerations: '2', activeSigningKey: '2' },
} as const;

const arn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const arnName = (logicalId: string) => `GetAtt:${logicalId}.Arn`;
const outputs = (synth: Synthesized) => synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;

function aliasTargets(synth: Synthesized): Record<string, string> {
  return Object.fromEntries(
    Object.values(resources(synth.template, 'AWS::KMS::Alias')).map((alias) => [
      String(alias.Properties!.AliasName),
      (alias.Properties!.TargetKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0],
    ]),
  );
}

/** Every function role's actions in every key policy: the switch must not change one. */
function keyPolicies(synth: Synthesized): Record<string, Record<string, string[]>> {
  const { template } = synth;
  return Object.fromEntries(
    Object.entries(signingKeys(template)).map(([id, key]) => [
      id,
      Object.fromEntries((['par', 'token', 'jwks'] as const).map((name) => [name, keyPolicyActions(key, arnName(roleLogicalId(template, name)))])),
    ]),
  );
}

describe('key generations: logical ids of existing stacks', () => {
  it('generation 1 and the moving alias keep the ids they had before generations, whatever is active', () => {
    for (const context of [{}, ROTATION.published, ROTATION.switched]) {
      const synth = synthesize(context);
      expect(keyByAlias(synth.template, '/request-object-1')).toBe(REQUEST_OBJECT_KEY_1);
      expect(Object.keys(resources(synth.template, 'AWS::KMS::Alias'))).toContain(REQUEST_OBJECT_ALIAS);
    }
    const retired = synthesize(ROTATION.retired);
    expect(Object.keys(resources(retired.template, 'AWS::KMS::Key'))).not.toContain(REQUEST_OBJECT_KEY_1);
    expect(resources(retired.template, 'AWS::KMS::Alias')[REQUEST_OBJECT_ALIAS]?.Properties?.AliasName).toBe('alias/ParProxy/request-object');
  }, SYNTH_TIMEOUT);

  it('the assertion key keeps its ids too', () => {
    const context = { clientAuthMethod: 'private_key_jwt', assertionKey: 'separate' };
    for (const extra of [{}, { assertionKeyGenerations: '1,2', activeAssertionKey: '2' }]) {
      const { template } = synthesize({ ...context, ...extra });
      expect(keyByAlias(template, '/client-assertion-1')).toBe(ASSERTION_KEY_1);
      expect(resources(template, 'AWS::KMS::Alias')[ASSERTION_ALIAS]?.Properties?.AliasName).toBe('alias/ParProxy/client-assertion');
    }
    const { template } = synthesize({ ...context, assertionKeyGenerations: '2' });
    expect(Object.keys(resources(template, 'AWS::KMS::Key'))).not.toContain(ASSERTION_KEY_1);
    expect(resources(template, 'AWS::KMS::Alias')[ASSERTION_ALIAS]?.Properties?.AliasName).toBe('alias/ParProxy/client-assertion');
  }, SYNTH_TIMEOUT);
});

describe('request object key rotation, step by step', () => {
  const synths = {} as Record<keyof typeof ROTATION | 'before', Synthesized>;
  beforeAll(() => {
    synths.before = synthesize({});
    for (const step of Object.keys(ROTATION) as Array<keyof typeof ROTATION>) synths[step] = synthesize(ROTATION[step]);
  }, SYNTH_TIMEOUT);

  const gen2 = (synth: Synthesized) => keyByAlias(synth.template, '/request-object-2');

  it('before: one key, alias request-object and request-object-1 on it', () => {
    const synth = synths.before;
    expect(Object.keys(signingKeys(synth.template))).toHaveLength(1);
    expect(aliasTargets(synth)).toEqual({ 'alias/ParProxy/request-object': REQUEST_OBJECT_KEY_1, 'alias/ParProxy/request-object-1': REQUEST_OBJECT_KEY_1 });
    expect(functionEnv(synth.template, 'jwks').PUBLISHED_KMS_KEY_IDS).toBeUndefined();
  });

  it('1. publish (signingKeyGenerations=1,2): two retained keys; generation 1 still signs, generation 2 is published', () => {
    const synth = synths.published;
    const { template } = synth;
    expect(Object.keys(signingKeys(template))).toHaveLength(2);
    for (const key of Object.values(signingKeys(template))) {
      expect(key.Properties).toMatchObject({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', EnableKeyRotation: false });
      expect([key.DeletionPolicy, key.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    }
    const next = gen2(synth);
    expect(aliasTargets(synth)).toEqual({
      'alias/ParProxy/request-object': REQUEST_OBJECT_KEY_1,
      'alias/ParProxy/request-object-1': REQUEST_OBJECT_KEY_1,
      'alias/ParProxy/request-object-2': next,
    });
    for (const name of ['par', 'token', 'jwks'] as const) expect(functionEnv(template, name).KMS_KEY_ID).toEqual(arn(REQUEST_OBJECT_KEY_1));
    expect(functionEnv(template, 'jwks').PUBLISHED_KMS_KEY_IDS).toEqual(arn(next));
    expect(functionEnv(template, 'par').PUBLISHED_KMS_KEY_IDS).toBeUndefined();
    expect(kmsPermissions(template, 'jwks')).toEqual([`kms:GetPublicKey ${arnName(REQUEST_OBJECT_KEY_1)}`, `kms:GetPublicKey ${arnName(next)}`].sort());
    // par may already sign with the next key (it is published), so that the switch changes no permission.
    expect(kmsPermissions(template, 'par')).toEqual(
      [REQUEST_OBJECT_KEY_1, next].flatMap((id) => [`kms:GetPublicKey ${arnName(id)}`, `kms:Sign ${arnName(id)}`]).sort(),
    );
    expect(kmsPermissions(template, 'token')).toEqual([]);
    expect(keyPolicies(synth)[next]).toEqual({ par: ['kms:GetPublicKey', 'kms:Sign'], token: [], jwks: ['kms:GetPublicKey'] });
    expect(outputs(synth).SigningKeyArn!.Value).toEqual(arn(REQUEST_OBJECT_KEY_1));
    expect(outputs(synth).SigningKey1Arn!.Value).toEqual(arn(REQUEST_OBJECT_KEY_1));
    expect(outputs(synth).SigningKey2Arn!.Value).toEqual(arn(next));
  });

  it('2. switch (activeSigningKey=2): generation 2 signs and the alias moves; generation 1 stays published', () => {
    const synth = synths.switched;
    const { template } = synth;
    expect(Object.keys(signingKeys(template))).toHaveLength(2);
    const next = gen2(synth);
    expect(next).toBe(gen2(synths.published));
    expect(aliasTargets(synth)).toEqual({
      'alias/ParProxy/request-object': next,
      'alias/ParProxy/request-object-1': REQUEST_OBJECT_KEY_1,
      'alias/ParProxy/request-object-2': next,
    });
    for (const name of ['par', 'token', 'jwks'] as const) expect(functionEnv(template, name).KMS_KEY_ID).toEqual(arn(next));
    expect(functionEnv(template, 'jwks').PUBLISHED_KMS_KEY_IDS).toEqual(arn(REQUEST_OBJECT_KEY_1));
    expect(outputs(synth).SigningKeyArn!.Value).toEqual(arn(next));
    expect(outputs(synth).SigningKey1Arn!.Value).toEqual(arn(REQUEST_OBJECT_KEY_1));
  });

  it('2. the switch changes the environment and the alias, and no permission (KMS applies policy changes late)', () => {
    for (const name of ['par', 'token', 'jwks'] as const) {
      expect(kmsPermissions(synths.switched.template, name)).toEqual(kmsPermissions(synths.published.template, name));
    }
    expect(keyPolicies(synths.switched)).toEqual(keyPolicies(synths.published));
  });

  it('3. retire (signingKeyGenerations=2): generation 1 leaves the template; exactly generation 2 is used', () => {
    const synth = synths.retired;
    const { template } = synth;
    expect(Object.keys(signingKeys(template))).toHaveLength(1);
    const only = Object.keys(signingKeys(template))[0]!;
    expect(only).toBe(gen2(synths.published));
    expect(keyLogicalIdOf(template, '/request-object-1')).toBeUndefined();
    expect(aliasTargets(synth)).toEqual({ 'alias/ParProxy/request-object': only, 'alias/ParProxy/request-object-2': only });
    expect(functionEnv(template, 'jwks').PUBLISHED_KMS_KEY_IDS).toBeUndefined();
    expect(functionEnv(template, 'par').KMS_KEY_ID).toEqual(arn(only));
    expect(kmsPermissions(template, 'par')).toEqual([`kms:GetPublicKey ${arnName(only)}`, `kms:Sign ${arnName(only)}`]);
    expect(kmsPermissions(template, 'jwks')).toEqual([`kms:GetPublicKey ${arnName(only)}`]);
    expect(keyPolicies(synth)[only]).toEqual({ par: ['kms:GetPublicKey', 'kms:Sign'], token: [], jwks: ['kms:GetPublicKey'] });
    expect(Object.keys(outputs(synth)).filter((name) => name.startsWith('SigningKey')).sort()).toEqual(['SigningKey2Arn', 'SigningKeyAlias', 'SigningKeyArn']);
  });

  it('no wildcard at any step', () => {
    for (const synth of Object.values(synths)) expect(wildcards(synth.template)).toEqual([]);
  });

  it('every step\'s environment is accepted by the handlers\' loaders, with the active key signing', () => {
    for (const [step, synth] of Object.entries(synths)) {
      const par = loadParConfig(resolvedEnv(functionEnv(synth.template, 'par')));
      const jwks = loadJwksConfig(resolvedEnv(functionEnv(synth.template, 'jwks')));
      expect(jwks.keys[0]!.keyId, step).toBe(par.signingKey.keyId);
      expect(jwks.keys, step).toHaveLength(step === 'published' || step === 'switched' ? 2 : 1);
      expect(new Set(jwks.keys.map((key) => key.keyId)).size).toBe(jwks.keys.length);
    }
  });
});

describe('key generations with other keys', () => {
  it('keys managed outside the stack are published after the inactive generations', () => {
    const { template } = synthesize({ ...ROTATION.switched, publishedKeyArns: EXTERNAL_KEY_ARN });
    const resolved = (value: unknown) => resolvedEnv({ value }).value;
    expect(resolved(functionEnv(template, 'jwks').PUBLISHED_KMS_KEY_IDS)).toBe(`${resolved(arn(REQUEST_OBJECT_KEY_1))},${EXTERNAL_KEY_ARN}`);
    expect(kmsPermissions(template, 'jwks')).toContain(`kms:GetPublicKey ${EXTERNAL_KEY_ARN}`);
    expect(kmsPermissions(template, 'par').join()).not.toContain(EXTERNAL_KEY_ARN);
    const jwks = loadJwksConfig(resolvedEnv(functionEnv(template, 'jwks')));
    expect(jwks.keys.map((key) => key.keyId).at(-1)).toBe(EXTERNAL_KEY_ARN);
    expect(jwks.keys).toHaveLength(3);
  }, SYNTH_TIMEOUT);

  it('private_key_jwt with assertionKey=shared: token signs assertions with the request object key\'s generations', () => {
    const { template } = synthesize({ clientAuthMethod: 'private_key_jwt', assertionKey: 'shared', ...ROTATION.switched });
    const next = keyByAlias(template, '/request-object-2');
    const signing = [REQUEST_OBJECT_KEY_1, next].flatMap((id) => [`kms:GetPublicKey ${arnName(id)}`, `kms:Sign ${arnName(id)}`]).sort();
    expect(kmsPermissions(template, 'token')).toEqual(signing);
    expect(kmsPermissions(template, 'par')).toEqual(signing);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(JSON.stringify(template.toJSON())).not.toContain('secretsmanager');
    const token = loadTokenConfig(resolvedEnv(functionEnv(template, 'token')));
    const par = loadParConfig(resolvedEnv(functionEnv(template, 'par')));
    expect(assertionKeyOf(token)?.keyId).toBe(par.signingKey.keyId);
    expect(functionEnv(template, 'token').KMS_KEY_ID).toEqual(arn(next));
  }, SYNTH_TIMEOUT);

  it('a separate assertion key rotates on its own: its generations, its alias, its signers', () => {
    const { template } = synthesize({
      clientAuthMethod: 'private_key_jwt',
      assertionKey: 'separate',
      assertionKeyGenerations: '1,2',
      activeAssertionKey: '2',
      signingKid: 'ro-1',
    });
    expect(Object.keys(signingKeys(template))).toHaveLength(3);
    const assertion2 = keyByAlias(template, '/client-assertion-2');
    expect(keyByAlias(template, '/client-assertion')).toBe(assertion2);
    expect(keyByAlias(template, '/request-object')).toBe(REQUEST_OBJECT_KEY_1);
    expect(keyLogicalIdOf(template, '/request-object-2')).toBeUndefined();
    const assertionUse = [ASSERTION_KEY_1, assertion2].flatMap((id) => [`kms:GetPublicKey ${arnName(id)}`, `kms:Sign ${arnName(id)}`]);
    expect(kmsPermissions(template, 'token')).toEqual(assertionUse.sort());
    // signingKid is fixed: par reads no request object public key.
    expect(kmsPermissions(template, 'par')).toEqual([...assertionUse, `kms:Sign ${arnName(REQUEST_OBJECT_KEY_1)}`].sort());
    expect(kmsPermissions(template, 'jwks')).toEqual([REQUEST_OBJECT_KEY_1, ASSERTION_KEY_1, assertion2].map((id) => `kms:GetPublicKey ${arnName(id)}`).sort());
    for (const name of ['par', 'token', 'jwks'] as const) {
      expect(functionEnv(template, name)).toMatchObject({ KMS_KEY_ID: arn(REQUEST_OBJECT_KEY_1), CLIENT_ASSERTION_KMS_KEY_ID: arn(assertion2), SIGNING_KID: 'ro-1' });
    }
    expect(functionEnv(template, 'jwks').PUBLISHED_KMS_KEY_IDS).toEqual(arn(ASSERTION_KEY_1));
    const outs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outs.ClientAssertionKeyArn!.Value).toEqual(arn(assertion2));
    expect(outs.ClientAssertionKey1Arn!.Value).toEqual(arn(ASSERTION_KEY_1));
    expect(outs.ClientAssertionKey2Arn!.Value).toEqual(arn(assertion2));
    expect(wildcards(template)).toEqual([]);
    const par = loadParConfig(resolvedEnv(functionEnv(template, 'par')));
    const jwks = loadJwksConfig(resolvedEnv(functionEnv(template, 'jwks')));
    expect(jwks.keys.map((key) => key.keyId)).toEqual([par.signingKey.keyId, assertionKeyOf(par)!.keyId, resolvedEnv({ k: arn(ASSERTION_KEY_1) }).k]);
    expect(jwks.keys.map((key) => key.kid)).toEqual(['ro-1', undefined, undefined]);
  }, SYNTH_TIMEOUT);

  it('generations past 2 and gaps are fine: each generation N is RequestObjectKeyN', () => {
    const { template } = synthesize({ signingKeyGenerations: '2,3', activeSigningKey: '3' });
    expect(Object.keys(signingKeys(template))).toHaveLength(2);
    expect(keyByAlias(template, '/request-object-2')).toMatch(/^SigningKeysRequestObjectKey2Key/);
    expect(keyByAlias(template, '/request-object')).toMatch(/^SigningKeysRequestObjectKey3Key/);
    expect(Object.keys(resources(template, 'AWS::KMS::Alias'))).toContain(REQUEST_OBJECT_ALIAS);
  }, SYNTH_TIMEOUT);

  it('invalid generations stop synthesis naming the context key', () => {
    expect(() => synthesize({ signingKeyGenerations: '1,2', activeSigningKey: '3' })).toThrow(/"activeSigningKey" must be one of the generations signingKeyGenerations lists \(1, 2\), got 3/);
    expect(() => synthesize({ signingKeyGenerations: '1,1' })).toThrow(/"signingKeyGenerations" lists generation 1 twice/);
    expect(() => synthesize({ signingKeyGenerations: '1,2', signingKid: 'k1' })).toThrow(/"signingKid" must be unset/);
    expect(() => synthesize({ assertionKeyGenerations: '1,2' })).toThrow(/"assertionKeyGenerations" needs a second key/);
  });
});
