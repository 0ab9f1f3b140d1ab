import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../functions/settings/table.ts';
import { parseInfraConfig } from '../../infra/config.ts';
import { HSTS_MAX_AGE } from '../../infra/edge.ts';
import { BASE_CONTEXT, BFF_CONTEXT, functionEnv, resources, synthesize, type CfnResource, type Synthesized } from './helpers.ts';

/**
 * Issue 13, first slice: a CloudFront distribution serving the SPA (default behaviour) and the
 * proxy's routes (uncached, to the HTTP API) on one origin, with security headers and access logs.
 */
const SYNTH_TIMEOUT = 60_000;
const EDGE = { edge: 'true' } as const;
/** With the edge, bff is the default mode (edge-domain.test.ts): relay is chosen. */
const RELAY_EDGE = { ...EDGE, proxyMode: 'relay' } as const;

interface Behavior {
  PathPattern?: string;
  TargetOriginId: string;
  CachePolicyId: unknown;
  OriginRequestPolicyId?: unknown;
  ResponseHeadersPolicyId?: unknown;
  AllowedMethods?: string[];
  ViewerProtocolPolicy: string;
}
interface Origin {
  Id: string;
  DomainName: unknown;
  S3OriginConfig?: unknown;
  CustomOriginConfig?: { OriginProtocolPolicy: string; HTTPSPort?: number };
  OriginAccessControlId?: unknown;
}
interface DistributionConfig {
  DefaultCacheBehavior: Behavior;
  CacheBehaviors?: Behavior[];
  Origins: Origin[];
  Logging?: unknown;
  DefaultRootObject?: string;
}

function only(template: Synthesized['template'], type: string): [string, CfnResource] {
  const found = Object.entries(resources(template, type));
  expect(found, type).toHaveLength(1);
  return found[0]!;
}
const distributionOf = (synth: Synthesized) => only(synth.template, 'AWS::CloudFront::Distribution');
const configOf = (synth: Synthesized) => distributionOf(synth)[1].Properties!.DistributionConfig as unknown as DistributionConfig;
const originOf = (synth: Synthesized, behavior: Behavior) => configOf(synth).Origins.find((origin) => origin.Id === behavior.TargetOriginId)!;
const patterns = (synth: Synthesized) => (configOf(synth).CacheBehaviors ?? []).map((behavior) => behavior.PathPattern).sort();
/** The HTTP API's logical id. */
const apiId = (synth: Synthesized) => only(synth.template, 'AWS::ApiGatewayV2::Api')[0];
/** The SPA's bucket: the stack's only one (access logs go to CloudWatch Logs in us-east-1, infra/edge-logs.ts). */
function buckets(synth: Synthesized): { spa?: [string, CfnResource] } {
  const all = Object.entries(resources(synth.template, 'AWS::S3::Bucket'));
  expect(all.length).toBeLessThanOrEqual(1);
  return { spa: all[0] };
}
function bucketPolicy(synth: Synthesized, bucketId: string): Array<{ Effect: string; Principal: unknown; Action: unknown; Condition?: unknown }> {
  const policy = Object.values(resources(synth.template, 'AWS::S3::BucketPolicy')).find(
    (candidate) => (candidate.Properties!.Bucket as { Ref: string }).Ref === bucketId,
  )!;
  return (policy.Properties!.PolicyDocument as { Statement: Array<{ Effect: string; Principal: unknown; Action: unknown; Condition?: unknown }> }).Statement;
}

describe('without edge=true', () => {
  it('nothing of the edge is deployed: no distribution, no bucket, no AppUrl', () => {
    const synth = synthesize();
    synth.template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    synth.template.resourceCountIs('AWS::S3::Bucket', 0);
    expect(Object.keys(synth.template.findOutputs('AppUrl'))).toEqual([]);
    expect(Object.keys(synth.template.findOutputs('DistributionId'))).toEqual([]);
  }, SYNTH_TIMEOUT);

  it('the edge\'s keys are refused without it', () => {
    for (const key of ['spaPath', 'spaOrigin', 'contentSecurityPolicy']) {
      expect(() => parseInfraConfig((name) => ({ ...BASE_CONTEXT, [key]: key === 'spaOrigin' ? 'https://spa.example.com' : 'x' })[name]), key).toThrow(
        new RegExp(`"${key}" applies only with edge=true`),
      );
    }
  });
});

describe('edge=true, relay mode, the SPA from a build folder', () => {
  let synth: Synthesized;
  let spaPath: string;
  beforeAll(() => {
    spaPath = mkdtempSync(join(tmpdir(), 'spa-'));
    writeFileSync(join(spaPath, 'index.html'), '<!doctype html><title>SPA</title>');
    synth = synthesize({ ...RELAY_EDGE, spaPath });
  }, SYNTH_TIMEOUT);
  afterAll(() => rmSync(spaPath, { recursive: true, force: true }));

  it('routes /par, /token and the JWKS to the API; everything else to the SPA', () => {
    expect(patterns(synth)).toEqual(['/.well-known/jwks.json', '/par', '/token']);
    const [, apiResource] = only(synth.template, 'AWS::ApiGatewayV2::Api');
    expect(apiResource).toBeDefined();
    for (const behavior of configOf(synth).CacheBehaviors!) {
      const origin = originOf(synth, behavior);
      // The API's host out of its URL: https://<id>.execute-api.<region>.<suffix>
      expect(JSON.stringify(origin.DomainName)).toContain('"Fn::Select":[2,{"Fn::Split":["/"');
      expect(JSON.stringify(origin.DomainName)).toContain(`{"Ref":"${apiId(synth)}"}`);
      expect(origin.CustomOriginConfig!.OriginProtocolPolicy).toBe('https-only');
    }
  });

  it('the proxy\'s behaviours: never cached, every viewer header but Host, all methods, https only', () => {
    const disabled = synth.stack.resolve(cloudfront.CachePolicy.CACHING_DISABLED.cachePolicyId);
    const exceptHost = synth.stack.resolve(cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId);
    expect(disabled).not.toEqual(synth.stack.resolve(cloudfront.CachePolicy.CACHING_OPTIMIZED.cachePolicyId));
    for (const behavior of configOf(synth).CacheBehaviors!) {
      expect(behavior.CachePolicyId, behavior.PathPattern).toEqual(disabled);
      expect(behavior.OriginRequestPolicyId, behavior.PathPattern).toEqual(exceptHost);
      expect([...behavior.AllowedMethods!].sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
      expect(behavior.ViewerProtocolPolicy).toBe('https-only');
    }
  });

  it('the SPA: a private bucket read through origin access control, its policy allowing only this distribution', () => {
    const spaBehavior = configOf(synth).DefaultCacheBehavior;
    const origin = originOf(synth, spaBehavior);
    const { spa } = buckets(synth);
    expect(origin.DomainName).toEqual({ 'Fn::GetAtt': [spa![0], 'RegionalDomainName'] });
    const [oacId, oac] = only(synth.template, 'AWS::CloudFront::OriginAccessControl');
    expect(origin.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oacId, 'Id'] });
    expect(oac.Properties!.OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    expect(spa![1].Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
    const [distributionId] = distributionOf(synth);
    const statements = bucketPolicy(synth, spa![0]);
    const reads = statements.filter((statement) => JSON.stringify(statement.Action).includes('s3:GetObject') && statement.Effect === 'Allow');
    expect(reads).toHaveLength(1);
    expect(reads[0]!.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(JSON.stringify(reads[0]!.Condition)).toContain(`{"Ref":"${distributionId}"}`);
    // Every other Allow is the deployment's own writer, none for CloudFront or anyone at all.
    for (const statement of statements.filter((s) => s.Effect === 'Allow' && s !== reads[0])) expect(JSON.stringify(statement.Principal)).not.toContain('"*"');
    // enforceSSL
    expect(statements.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}')).toBe(true);
    expect(configOf(synth).DefaultRootObject).toBe('index.html');
  });

  it('the build folder is uploaded to that bucket, and CloudFront drops its cache of it', () => {
    const deployments = Object.values(resources(synth.template, 'Custom::CDKBucketDeployment'));
    expect(deployments).toHaveLength(1);
    expect(deployments[0]!.Properties!.DestinationBucketName).toEqual({ Ref: buckets(synth).spa![0] });
    expect(deployments[0]!.Properties!.DistributionId).toEqual({ Ref: distributionOf(synth)[0] });
  });

  it('the SPA\'s headers: HSTS two years with subdomains (no preload), nosniff, DENY, no-referrer, the strict CSP', () => {
    const spaBehavior = configOf(synth).DefaultCacheBehavior;
    const [policyId, policy] = only(synth.template, 'AWS::CloudFront::ResponseHeadersPolicy');
    expect(spaBehavior.ResponseHeadersPolicyId).toEqual({ Ref: policyId });
    const headers = (policy.Properties!.ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, Record<string, unknown>> }).SecurityHeadersConfig;
    expect(headers.StrictTransportSecurity).toEqual({ AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Preload: false, Override: true });
    expect(HSTS_MAX_AGE.toSeconds()).toBe(2 * 365 * 24 * 3600);
    expect(headers.ContentTypeOptions).toEqual({ Override: true });
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(headers.ReferrerPolicy).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
    const csp = headers.ContentSecurityPolicy!.ContentSecurityPolicy as string;
    expect(csp).toBe(CONTENT_SECURITY_POLICY.default);
    for (const directive of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "connect-src 'self'"]) {
      expect(csp).toContain(directive);
    }
    // The proxy's answers keep their own headers.
    for (const behavior of configOf(synth).CacheBehaviors!) expect(behavior.ResponseHeadersPolicyId).toBeUndefined();
  });

  it('no legacy standard logging (it always records the query string): the logs are v2, in us-east-1', () => {
    expect(configOf(synth).Logging).toBeUndefined();
    expect(buckets(synth).spa).toBeDefined();
  });

  it('AppUrl is the distribution\'s https URL; DistributionId names it for invalidations', () => {
    synth.template.hasOutput('AppUrl', { Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionOf(synth)[0], 'DomainName'] }, '/']] } });
    synth.template.hasOutput('DistributionId', { Value: { Ref: distributionOf(synth)[0] } });
  });

  it('relay mode still needs its redirect URIs (the SPA\'s routes) from the context; its origin is derived', () => {
    const parse = () => parseInfraConfig((name) => ({ ...BASE_CONTEXT, ...RELAY_EDGE, allowedOrigins: undefined, allowedRedirectUris: undefined })[name]);
    expect(parse).toThrow(/^CDK context "allowedRedirectUris" is required with proxyMode=relay, e.g. /);
  });
});

describe('edge=true, bff mode under a base path, URLs derived from the distribution', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize({ ...BFF_CONTEXT, ...EDGE, basePath: '/auth', redirectUri: undefined, allowedOrigins: undefined });
  }, SYNTH_TIMEOUT);

  it('routes the one prefix <basePath>/* and the JWKS to the API, uncached', () => {
    expect(patterns(synth)).toEqual(['/.well-known/jwks.json', '/auth/*']);
    const disabled = synth.stack.resolve(cloudfront.CachePolicy.CACHING_DISABLED.cachePolicyId);
    for (const behavior of configOf(synth).CacheBehaviors!) expect(behavior.CachePolicyId).toEqual(disabled);
  });

  it('the bff\'s REDIRECT_URI, APP_URL and ALLOWED_ORIGINS are the distribution\'s', () => {
    const domain = { 'Fn::GetAtt': [distributionOf(synth)[0], 'DomainName'] };
    const env = functionEnv(synth.template, 'bff');
    expect(env.REDIRECT_URI).toEqual({ 'Fn::Join': ['', ['https://', domain, '/auth/callback']] });
    expect(env.APP_URL).toEqual({ 'Fn::Join': ['', ['https://', domain, '/']] });
    expect(env.ALLOWED_ORIGINS).toEqual({ 'Fn::Join': ['', ['https://', domain]] });
  });

  it('no CORS on the API (the SPA calls on its own origin), and no warning', () => {
    const [, api] = only(synth.template, 'AWS::ApiGatewayV2::Api');
    expect(api.Properties!.CorsConfiguration).toBeUndefined();
    expect(Annotations.fromStack(synth.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('redirectUri and allowedOrigins are required without the edge, not with it', () => {
    const context = { ...BASE_CONTEXT, ...BFF_CONTEXT, redirectUri: undefined, allowedOrigins: undefined };
    expect(() => parseInfraConfig((name) => (context as Record<string, unknown>)[name])).toThrow(/"allowedOrigins" is required[\s\S]*"redirectUri" is required/);
    const config = parseInfraConfig((name) => ({ ...context, ...EDGE } as Record<string, unknown>)[name]);
    expect(config.allowedOrigins).toEqual([]);
    expect(config.environment.REDIRECT_URI).toBeUndefined();
  });
});

/** The resources each resource references (Ref, Fn::GetAtt, DependsOn), by logical id. */
function references(template: Synthesized['template']): Map<string, Set<string>> {
  const all = template.toJSON().Resources as Record<string, { DependsOn?: string | string[] }>;
  const graph = new Map<string, Set<string>>();
  const walk = (value: unknown, into: Set<string>): void => {
    if (Array.isArray(value)) value.forEach((item) => walk(item, into));
    else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'Ref' && typeof inner === 'string' && inner in all) into.add(inner);
        else if (key === 'Fn::GetAtt') into.add((inner as [string])[0]);
        else walk(inner, into);
      }
    }
  };
  for (const [id, resource] of Object.entries(all)) {
    const into = new Set<string>([resource.DependsOn ?? []].flat());
    walk(resource, into);
    graph.set(id, into);
  }
  return graph;
}

/** A cycle of references, as logical ids, or undefined: CloudFormation refuses a template with one. */
function cycleIn(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'open');
    for (const next of graph.get(id) ?? []) {
      const cycle = visit(next, [...path, id]);
      if (cycle !== undefined) return cycle;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of graph.keys()) {
    const cycle = visit(id, []);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe('edge=true: the bff reads the distribution\'s URL, the distribution the API\'s', () => {
  it('no reference cycle (functions -> distribution -> API, never back)', () => {
    const synth = synthesize({ ...BFF_CONTEXT, ...EDGE, basePath: '/auth', redirectUri: undefined, allowedOrigins: undefined });
    const graph = references(synth.template);
    const bffId = Object.keys(resources(synth.template, 'AWS::Lambda::Function')).find((id) => id.includes('Bff'))!;
    expect(graph.get(bffId)).toContain(distributionOf(synth)[0]);
    expect(cycleIn(graph)).toBeUndefined();
    // The check finds one when there is one.
    expect(cycleIn(new Map([['A', new Set(['B'])], ['B', new Set(['A'])]]))).toEqual(['A', 'B', 'A']);
  }, SYNTH_TIMEOUT);
});

describe('edge=true, bff mode, values given in the context win', () => {
  it('the given redirectUri and origins are passed as they are; the bff routes without a base path are each routed', () => {
    // The distribution's name, as the first deploy's AppUrl printed it.
    const redirectUri = 'https://d111111abcdef8.cloudfront.net/callback';
    const synth = synthesize({ ...BFF_CONTEXT, ...EDGE, redirectUri, appUrl: 'https://app.example.com/home' });
    const env = functionEnv(synth.template, 'bff');
    expect(env.REDIRECT_URI).toBe(redirectUri);
    expect(env.ALLOWED_ORIGINS).toBe(BASE_CONTEXT.allowedOrigins);
    expect(env.APP_URL).toBe('https://app.example.com/home');
    expect(patterns(synth)).toEqual(['/.well-known/jwks.json', '/api/*', '/backchannel-logout', '/callback', '/logout', '/par', '/session']);
  }, SYNTH_TIMEOUT);
});

describe('edge=true with an existing SPA origin', () => {
  it('the default behaviour goes to that origin by https; no bucket at all', () => {
    const synth = synthesize({ ...RELAY_EDGE, spaOrigin: 'https://spa.example.com:8443', contentSecurityPolicy: "default-src 'self'; img-src https:" });
    const origin = originOf(synth, configOf(synth).DefaultCacheBehavior);
    expect(origin.DomainName).toBe('spa.example.com');
    expect(origin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', HTTPSPort: 8443 });
    synth.template.resourceCountIs('AWS::S3::Bucket', 0);
    synth.template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 0);
    synth.template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: { SecurityHeadersConfig: { ContentSecurityPolicy: { ContentSecurityPolicy: "default-src 'self'; img-src https:", Override: true } } },
    });
  }, SYNTH_TIMEOUT);

  it('refuses spaOrigin and spaPath together, and an http or loopback spaOrigin', () => {
    const parse = (extra: Record<string, unknown>) => () => parseInfraConfig((name) => ({ ...BASE_CONTEXT, ...EDGE, ...extra } as Record<string, unknown>)[name]);
    expect(parse({ spaOrigin: 'https://spa.example.com', spaPath: 'dist' })).toThrow(/"spaOrigin" and spaPath exclude each other/);
    expect(parse({ spaOrigin: 'http://localhost:5173' })).toThrow(/"spaOrigin" must be an https origin CloudFront can reach/);
    expect(parse({ spaOrigin: 'https://spa.example.com/app' })).toThrow(/"spaOrigin" .* is not an origin/);
  });
});
