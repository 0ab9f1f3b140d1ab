import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { ClientAuthConfig, SigningKeyConfig } from '../../functions/core/config.ts';
import { FUNCTIONS, type FunctionName } from '../../functions/manifest.ts';
import { PROJECT_ROOT } from '../../infra/bundling.ts';
import { SECRET_KEY_USE_ACTIONS } from '../../infra/client-secret.ts';
import { addParProxyStack, type ParProxyStack, type ParProxyStackProps } from '../../infra/par-proxy-stack.ts';
import { KEY_ADMIN_ACTIONS } from '../../infra/signing-key.ts';

/** The README's example deployment. */
export const BASE_CONTEXT = {
  issuer: 'https://tenant.auth0.com/',
  clientId: 'abc',
  allowedOrigins: 'https://app.example.com',
  allowedRedirectUris: 'https://app.example.com/callback',
} as const;

/** A bff deployment (docs/deploy.md, "bff mode") over the README example: its own callback instead of the SPA's redirect URIs. */
export const BFF_CONTEXT = {
  proxyMode: 'bff',
  redirectUri: 'https://app.example.com/callback',
  allowedRedirectUris: undefined,
} as const;

/** The feature flags of cdk.json, so tests synthesise what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export interface Synthesized {
  readonly app: App;
  readonly stack: ParProxyStack;
  readonly template: Template;
}

/**
 * Builds the app as infra/app.ts does, from `context` over the README example, without synthesising
 * it. Bundling is skipped unless asked for: it runs esbuild for every function.
 */
export function buildApp(
  context: Record<string, unknown> = {},
  options: { bundle?: boolean; outdir?: string; functions?: ParProxyStackProps['functions'] } = {},
): { app: App; stack: ParProxyStack } {
  const app = new App({
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
    context: {
      ...cdkJsonContext(),
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...BASE_CONTEXT,
      ...context,
    },
  });
  const overrides = {
    ...(options.functions === undefined ? {} : { functions: options.functions }),
    // The region `cdk` passes (CDK_DEFAULT_REGION), which the edge's cross-region references need.
    ...(app.node.tryGetContext('edge') === 'true' ? { env: { region: TEST_REGION } } : {}),
  };
  return { app, stack: addParProxyStack(app, overrides) };
}

/** The main stack's region in the edge's tests. */
export const TEST_REGION = 'eu-west-1';

/** The stacks of the app by id: the main one and, with the edge, its us-east-1 companions. */
export function stacksOf(app: App): Record<string, Stack> {
  return Object.fromEntries(app.node.children.filter((child): child is Stack => Stack.isStack(child)).map((stack) => [stack.node.id, stack]));
}

/** buildApp, then the stack's template (which synthesises the app). */
export function synthesize(context: Record<string, unknown> = {}, options: Parameters<typeof buildApp>[1] = {}): Synthesized {
  const { app, stack } = buildApp(context, options);
  return { app, stack, template: Template.fromStack(stack) };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export function resources(template: Template, type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

/** A reference as a short readable string: `GetAtt:Logical.Arn`, `Ref:Logical`, or the literal. */
export function refName(value: unknown): string {
  if (typeof value === 'string') return value;
  const ref = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (ref.Ref !== undefined) return `Ref:${ref.Ref}`;
  if (ref['Fn::GetAtt'] !== undefined) return `GetAtt:${ref['Fn::GetAtt'].join('.')}`;
  return JSON.stringify(value);
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The logical id of the `name` function, known by its description. */
export function functionLogicalId(template: Template, name: FunctionName): string {
  const description = FUNCTIONS.find((fn) => fn.name === name)!.description;
  const matches = Object.entries(resources(template, 'AWS::Lambda::Function')).filter(([, fn]) => fn.Properties?.Description === description);
  if (matches.length !== 1) throw new Error(`expected one ${name} function, found ${matches.length}`);
  return matches[0]![0];
}

export function functionProps(template: Template, name: FunctionName): Record<string, Json> {
  return resources(template, 'AWS::Lambda::Function')[functionLogicalId(template, name)]!.Properties!;
}

/** The function's environment variables (CloudFormation leaves out an empty Environment). */
export function functionEnv(template: Template, name: FunctionName): Record<string, unknown> {
  return (functionProps(template, name).Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
}

/** Every API route as `ROUTE KEY -> function logical id`, sorted. */
export function routedTo(template: Template): string[] {
  const integrations = resources(template, 'AWS::ApiGatewayV2::Integration');
  return Object.values(resources(template, 'AWS::ApiGatewayV2::Route'))
    .map((route) => {
      const target = (route.Properties!.Target as { 'Fn::Join': [string, [string, { Ref: string }]] })['Fn::Join'][1][1].Ref;
      const uri = integrations[target]!.Properties!.IntegrationUri as { 'Fn::GetAtt': [string, string] };
      return `${String(route.Properties!.RouteKey)} -> ${uri['Fn::GetAtt'][0]}`;
    })
    .sort();
}

export function roleLogicalId(template: Template, name: FunctionName): string {
  const role = functionProps(template, name).Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}

/** Every `action resource` pair the role's identity policies allow, sorted. */
export function identityPermissions(template: Template, name: FunctionName): string[] {
  const role = roleLogicalId(template, name);
  const pairs: string[] = [];
  for (const policy of Object.values(resources(template, 'AWS::IAM::Policy'))) {
    const roles = asArray(policy.Properties?.Roles as unknown).map(refName);
    if (!roles.includes(`Ref:${role}`)) continue;
    const document = policy.Properties?.PolicyDocument as { Statement: Array<{ Effect: string; Action: unknown; Resource: unknown }> };
    for (const statement of document.Statement) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asArray(statement.Action as string | string[])) {
        for (const resource of asArray(statement.Resource)) pairs.push(`${action} ${refName(resource)}`);
      }
    }
  }
  return pairs.sort();
}

/** Every `action` a key policy grants `principal` (a refName), sorted. */
export function keyPolicyActions(key: CfnResource, principal: string): string[] {
  const document = key.Properties?.KeyPolicy as { Statement: Array<{ Effect: string; Action: unknown; Principal: { AWS: unknown } }> };
  return document.Statement.filter((s) => s.Effect === 'Allow' && asArray(s.Principal.AWS).map(refName).includes(principal))
    .flatMap((s) => asArray(s.Action as string | string[]))
    .sort();
}

/** The asymmetric signing keys (not the client secret's encryption key), by logical id. */
export function signingKeys(template: Template): Record<string, CfnResource> {
  return Object.fromEntries(Object.entries(resources(template, 'AWS::KMS::Key')).filter(([, key]) => key.Properties?.KeyUsage === 'SIGN_VERIFY'));
}

/** Logical id of the KMS key behind an alias name. */
export function keyByAlias(template: Template, aliasSuffix: string): string {
  const alias = Object.values(resources(template, 'AWS::KMS::Alias')).find((a) => String(a.Properties?.AliasName).endsWith(aliasSuffix));
  if (alias === undefined) throw new Error(`no alias ending in ${aliasSuffix}`);
  return (alias.Properties!.TargetKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

/** Logical id of the KMS key behind an alias name, or undefined. */
export function keyLogicalIdOf(template: Template, aliasSuffix: string): string | undefined {
  try {
    return keyByAlias(template, aliasSuffix);
  } catch {
    return undefined;
  }
}

/** The signing keys' part of identityPermissions (kms:Sign, kms:GetPublicKey; not the secret key's kms:Decrypt). */
export function kmsPermissions(template: Template, name: FunctionName): string[] {
  return identityPermissions(template, name).filter((permission) => /^kms:(Sign|GetPublicKey) /.test(permission));
}

/** Every wildcard in an IAM policy's actions or resources, or in a key policy's actions, as `where: what`. */
export function wildcards(template: Template): string[] {
  const found: string[] = [];
  for (const [id, policy] of Object.entries(resources(template, 'AWS::IAM::Policy'))) {
    const document = policy.Properties!.PolicyDocument as { Statement: Array<{ Action: unknown; Resource: unknown; NotAction?: unknown }> };
    for (const statement of document.Statement) {
      if (statement.NotAction !== undefined) found.push(`${id}: NotAction`);
      for (const action of asArray(statement.Action as string | string[])) if (action.includes('*')) found.push(`${id}: ${action}`);
      for (const resource of asArray(statement.Resource)) if (JSON.stringify(resource).includes('*')) found.push(`${id}: ${JSON.stringify(resource)}`);
    }
  }
  for (const [id, key] of Object.entries(resources(template, 'AWS::KMS::Key'))) {
    for (const statement of (key.Properties!.KeyPolicy as { Statement: Array<{ Action: unknown; Resource: unknown }> }).Statement) {
      for (const action of asArray(statement.Action as string | string[])) if (action.includes('*')) found.push(`${id}: ${action}`);
      // In a key policy "*" is the only resource there is: this key.
      if (statement.Resource !== '*') found.push(`${id}: resource ${JSON.stringify(statement.Resource)}`);
    }
  }
  return found;
}

/** A CloudFormation value as the deployed function would see it: references become plausible ARNs, joins are joined. */
function resolvedValue(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join !== undefined) return join[1].map(resolvedValue).join(join[0]);
  const name = refName(value);
  return name.includes('Secret')
    ? `arn:aws:secretsmanager:eu-west-1:111122223333:secret:${name.replace(/\W/g, '')}-AbCdEf`
    : `arn:aws:kms:eu-west-1:111122223333:key/${name.replace(/\W/g, '').slice(-12)}`;
}

/** Replaces CloudFormation references by plausible literal values, as the deployed function would see them. */
export function resolvedEnv(env: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, resolvedValue(value)]));
}

/** The key a configuration signs client assertions with, or undefined with a client secret. */
export function assertionKeyOf(config: ClientAuthConfig): SigningKeyConfig | undefined {
  return config.authMethod === 'private_key_jwt' ? config.assertionKey : undefined;
}

/** The client secret a configuration reads, or undefined with private_key_jwt. */
export function clientSecretIdOf(config: ClientAuthConfig): string | undefined {
  return config.authMethod === 'private_key_jwt' ? undefined : config.clientSecretId;
}

/** An IAM statement as the template holds it. */
export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export const REGION_VIA_SECRETS_MANAGER = { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] };
/** The only kms:Sign condition: the configured algorithm, over a digest. */
export const SIGN_CONDITION = (kmsAlg: string) => ({ StringEquals: { 'kms:SigningAlgorithm': kmsAlg, 'kms:MessageType': 'DIGEST' } });

/** The statements of every identity policy attached to the `name` function's role. */
export function identityStatements(synth: Pick<Synthesized, 'template'>, name: FunctionName): Statement[] {
  const role = `Ref:${roleLogicalId(synth.template, name)}`;
  return Object.values(resources(synth.template, 'AWS::IAM::Policy'))
    .filter((policy) => asArray(policy.Properties?.Roles as unknown).map(refName).includes(role))
    .flatMap((policy) => (policy.Properties!.PolicyDocument as unknown as { Statement: Statement[] }).Statement);
}

/**
 * The first two statements of a created secret's key policy (infra/guarded-secret.ts): the account
 * administers, and uses it through Secrets Manager only. `region`: a stack with its region at synthesis
 * (the edge's), whose partition and region the CDK writes as literals.
 */
export function guardedSecretKeyStatements(region?: string): Statement[] {
  const root = { AWS: { 'Fn::Join': ['', [region === undefined ? 'arn:' : 'arn:aws:iam::', ...(region === undefined ? [{ Ref: 'AWS::Partition' }, ':iam::'] : []), { Ref: 'AWS::AccountId' }, ':root']] } };
  const viaSecretsManager = region === undefined ? REGION_VIA_SECRETS_MANAGER : `secretsmanager.${region}.amazonaws.com`;
  return [
    {
      Sid: 'AccountAdministersButDoesNotUseTheKey',
      Effect: 'Allow',
      Principal: root,
      Action: [...KEY_ADMIN_ACTIONS, 'kms:DisableKeyRotation', 'kms:EnableKeyRotation'].sort(),
      Resource: '*',
    },
    {
      Sid: 'AccountUsesTheKeyOnlyThroughSecretsManager',
      Effect: 'Allow',
      Principal: root,
      Action: [...SECRET_KEY_USE_ACTIONS],
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': viaSecretsManager, 'kms:CallerAccount': { Ref: 'AWS::AccountId' } } },
    },
  ];
}
