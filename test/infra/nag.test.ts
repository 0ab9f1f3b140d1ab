import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { BFF_CONTEXT, buildApp } from './helpers.ts';

/** A stand-in SPA build for the edge's upload (removed after the run). */
const SPA_BUILD = mkdtempSync(join(tmpdir(), 'spa-'));
writeFileSync(join(SPA_BUILD, 'index.html'), '<!doctype html><title>SPA</title>');
afterAll(() => rmSync(SPA_BUILD, { recursive: true, force: true }));

/** The edge with a certificate of its own: TLSv1.2_2021, so no CFR4 acknowledgement. */
const CUSTOM_DOMAIN = {
  edge: 'true',
  allowedOrigins: undefined,
  allowedRedirectUris: undefined,
  domainName: 'app.example.com',
  certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/1234abcd-12ab-34cd-56ef-1234567890ab',
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  hostedZoneName: 'example.com',
  hstsPreload: 'true',
  spaPath: SPA_BUILD,
};

const VARIANTS: Record<string, Record<string, unknown>> = {
  'defaults (created secret)': {},
  'imported secret, e-mail alarms': {
    clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:par-proxy/client-AbC123',
    alarmEmail: 'ops@example.com',
  },
  'private_key_jwt, separate assertion key, published keys': {
    clientAuthMethod: 'private_key_jwt',
    assertionKey: 'separate',
    publishedKeyArns: 'arn:aws:kms:eu-west-1:111122223333:key/0b5f2c1e-1111-2222-3333-444455556666',
    publicKeyReadByAccount: 'true',
  },
  'rotation: two request object key generations, the second active': {
    signingKeyGenerations: '1,2',
    activeSigningKey: '2',
  },
  'rotation: private_key_jwt, both keys with two generations, external key published': {
    clientAuthMethod: 'private_key_jwt',
    assertionKey: 'separate',
    signingKeyGenerations: '1,2',
    assertionKeyGenerations: '2,3',
    activeAssertionKey: '3',
    publishedKeyArns: 'arn:aws:kms:eu-west-1:111122223333:key/0b5f2c1e-1111-2222-3333-444455556666',
  },
  'break-glass reader, no reserved concurrency': {
    breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/BreakGlass',
    reservedConcurrency: 'off',
  },
  'private_key_jwt, shared key, second key published': {
    clientAuthMethod: 'private_key_jwt',
    assertionKey: 'published',
  },
  'rotation: generation 1 retired': {
    signingKeyGenerations: '2',
  },
  'relay mode with dpop: the session keys, read by the token function': { dpop: 'true' },
  'bff mode (session keys, credentialed CORS), break-glass reader of the client secret': {
    ...BFF_CONTEXT,
    breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/BreakGlass',
  },
  'bff mode, server-side sessions (the session table, its key, indexes and alarms)': {
    ...BFF_CONTEXT,
    sessionStore: 'dynamodb',
    sessionIdleTimeout: '1800',
  },
  'bff mode under a base path, private_key_jwt': {
    ...BFF_CONTEXT,
    basePath: '/auth',
    redirectUri: 'https://app.example.com/auth/callback',
    clientAuthMethod: 'private_key_jwt',
  },
  'edge: relay mode, the SPA from a build folder': {
    edge: 'true',
    proxyMode: 'relay',
    spaPath: SPA_BUILD,
  },
  'edge: bff mode (the default), a custom domain in a hosted zone, HSTS preload': CUSTOM_DOMAIN,
  'edge: relay mode, a custom domain without a zone (CNAME target)': {
    edge: 'true',
    proxyMode: 'relay',
    allowedOrigins: undefined,
    domainName: 'app.example.com',
    certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/1234abcd-12ab-34cd-56ef-1234567890ab',
  },
  'edge: bff mode under a base path, URLs derived from the distribution, an existing SPA origin': {
    ...BFF_CONTEXT,
    edge: 'true',
    basePath: '/auth',
    redirectUri: undefined,
    allowedOrigins: undefined,
    spaOrigin: 'https://spa.example.com',
  },
  'edge: bff mode, an empty SPA bucket': {
    ...BFF_CONTEXT,
    edge: 'true',
    redirectUri: undefined,
  },
  'edge: relay mode, web ACL limits and window from the context, e-mail alarms in us-east-1 too': {
    edge: 'true',
    proxyMode: 'relay',
    wafLoginRateLimit: '300',
    wafRateLimit: '3000',
    wafRateWindow: '120',
    alarmEmail: 'ops@example.com',
  },
};

/** Every acknowledgement in the tree: rule id, reason, construct path. */
function acknowledgements(root: IConstruct): Array<{ id: string; reason: string; path: string }> {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^annotation::/i, ''),
          reason,
          path: construct.node.path,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(Object.entries(VARIANTS))('%s: no unacknowledged finding', (_name, context) => {
    const { app } = buildApp(context);
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(' ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  }, 60_000);

  it.each(Object.entries(VARIANTS))('%s: every acknowledgement is justified and still needed', (_name, context) => {
    const acknowledged = acknowledgements(buildApp(context).app);
    for (const ack of acknowledged) expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(80);
    // The same app with acknowledgements ignored: its findings must be exactly the acknowledged ones.
    vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    const { app } = buildApp(context);
    const findings = new AwsSolutionsChecks().validateScope(app).violations.flatMap((v) =>
      v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? '' })),
    );
    for (const finding of findings) {
      const ack = acknowledged.find((a) => a.id === finding.id && (finding.path === a.path || finding.path.startsWith(`${a.path}/`)));
      expect(ack, `${finding.id} at ${finding.path}`).toBeDefined();
    }
    for (const ack of acknowledged) {
      expect(findings.some((f) => f.id === ack.id && f.path.startsWith(ack.path)), `unused acknowledgement ${ack.id} at ${ack.path}`).toBe(true);
    }
  }, 60_000);

  it('fails synthesis through Validations, as `cdk synth` does, on an unacknowledged finding', () => {
    const { app, stack } = buildApp({});
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    new sns.Topic(stack, 'TopicWithoutSsl');
    expect(() => app.synth()).toThrow(/AwsSolutions-SNS3/);
  }, 60_000);

  it.each([['relay', {}], ['bff', BFF_CONTEXT], ['bff behind the edge', { ...BFF_CONTEXT, edge: 'true', redirectUri: undefined }], ['bff behind the edge on a custom domain', CUSTOM_DOMAIN]] as const)('passes synthesis through Validations for the real stack (%s)', (_mode, context) => {
    const { app } = buildApp(context);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  }, 60_000);
});
