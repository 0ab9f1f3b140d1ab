import { runInNewContext } from 'node:vm';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseInfraConfig } from '../../infra/config.ts';
import { sameSite, siteOf } from '../../infra/site.ts';
import { SPA_ROUTES_CODE } from '../../infra/spa-routes.ts';
import { BASE_CONTEXT, BFF_CONTEXT, functionEnv, resources, synthesize, type Synthesized } from './helpers.ts';

/**
 * Issue 13, second slice: the edge's custom domain (ACM certificate in us-east-1, Route 53 aliases or
 * a CNAME target), HSTS preload as an opt-in, the SPA's deep links, bff by default behind the edge
 * and refused where its cookie would be third-party, relay's origin derived from the site.
 */
const SYNTH_TIMEOUT = 60_000;
const CERTIFICATE = 'arn:aws:acm:us-east-1:111122223333:certificate/1234abcd-12ab-34cd-56ef-1234567890ab';
const DOMAIN = { edge: 'true', domainName: 'app.example.com', certificateArn: CERTIFICATE } as const;
const ZONE = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' } as const;
/** An edge deployment, bff by default: the README example without relay's redirect URIs and origins. */
const EDGE_BFF = { edge: 'true', allowedRedirectUris: undefined, allowedOrigins: undefined } as const;
const RELAY_EDGE = { edge: 'true', proxyMode: 'relay', allowedOrigins: undefined } as const;

function parse(context: Record<string, unknown>) {
  const merged: Record<string, unknown> = { ...BASE_CONTEXT, ...context };
  return parseInfraConfig((key) => merged[key]);
}
function messageOf(context: Record<string, unknown>): string {
  try {
    parse(context);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(context)}`);
}

interface ViewerCertificate {
  AcmCertificateArn?: string;
  MinimumProtocolVersion?: string;
  SslSupportMethod?: string;
  CloudFrontDefaultCertificate?: boolean;
}
const distribution = (synth: Synthesized) => {
  const [entry] = Object.entries(resources(synth.template, 'AWS::CloudFront::Distribution'));
  return { id: entry![0], config: entry![1].Properties!.DistributionConfig as Record<string, unknown> };
};
const domainOf = (synth: Synthesized) => ({ 'Fn::GetAtt': [distribution(synth).id, 'DomainName'] });
const outputs = (synth: Synthesized) => synth.template.toJSON().Outputs as Record<string, { Value: unknown; Description: string }>;

describe('custom domain in a hosted zone, bff by default, HSTS preload', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize({ ...EDGE_BFF, ...DOMAIN, ...ZONE, basePath: '/auth', hstsPreload: 'true' });
  }, SYNTH_TIMEOUT);

  it('the distribution answers on the domain with its ACM certificate, TLSv1.2_2021 at least, by SNI', () => {
    const { config } = distribution(synth);
    expect(config.Aliases).toEqual(['app.example.com']);
    expect(config.ViewerCertificate as ViewerCertificate).toEqual({ AcmCertificateArn: CERTIFICATE, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
  });

  it('A and AAAA alias records to the distribution in the given zone, looked up nowhere', () => {
    const records = Object.values(resources(synth.template, 'AWS::Route53::RecordSet'));
    expect(records.map((record) => record.Properties!.Type).sort()).toEqual(['A', 'AAAA']);
    for (const record of records) {
      expect(record.Properties).toMatchObject({ Name: 'app.example.com.', HostedZoneId: ZONE.hostedZoneId });
      const alias = record.Properties!.AliasTarget as { DNSName: unknown; HostedZoneId: unknown };
      expect(alias.DNSName).toEqual(domainOf(synth));
      // CloudFront's own zone (Z2FDTNDATAQYW2 in the aws partition), by partition.
      expect(JSON.stringify(alias.HostedZoneId)).toContain('AWSCloudFrontPartitionHostedZoneIdMap');
    }
    expect(synth.template.toJSON().Mappings.AWSCloudFrontPartitionHostedZoneIdMap.aws.zoneId).toBe('Z2FDTNDATAQYW2');
    synth.template.resourceCountIs('AWS::Route53::HostedZone', 0);
  });

  it('AppUrl is the domain; no CNAME target, the zone has the records; no warning', () => {
    expect(outputs(synth).AppUrl!.Value).toBe('https://app.example.com/');
    expect(outputs(synth).CnameTarget).toBeUndefined();
    expect(Annotations.fromStack(synth.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('the bff (the default with the edge) gets its URLs on the domain, literally', () => {
    expect(functionEnv(synth.template, 'bff')).toMatchObject({
      PROXY_MODE: 'bff',
      REDIRECT_URI: 'https://app.example.com/auth/callback',
      APP_URL: 'https://app.example.com/',
      ALLOWED_ORIGINS: 'https://app.example.com',
    });
  });

  it('HSTS with preload, two years and subdomains (what hstspreload.org asks for)', () => {
    synth.template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: { SecurityHeadersConfig: { StrictTransportSecurity: { AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Preload: true, Override: true } } },
    });
  });
});

describe('custom domain without a hosted zone, relay mode', () => {
  it('no records; CnameTarget names the distribution; relay\'s one origin is the domain, so the API needs no CORS', () => {
    const synth = synthesize({ ...RELAY_EDGE, ...DOMAIN, allowedRedirectUris: 'https://app.example.com/callback' });
    synth.template.resourceCountIs('AWS::Route53::RecordSet', 0);
    expect(outputs(synth).CnameTarget!.Value).toEqual(domainOf(synth));
    expect(outputs(synth).CnameTarget!.Description).toContain('CNAME record for app.example.com');
    expect(outputs(synth).AppUrl!.Value).toBe('https://app.example.com/');
    expect((distribution(synth).config.ViewerCertificate as ViewerCertificate).MinimumProtocolVersion).toBe('TLSv1.2_2021');
    for (const name of ['par', 'token'] as const) expect(functionEnv(synth.template, name).ALLOWED_ORIGINS).toBe('https://app.example.com');
    const [api] = Object.values(resources(synth.template, 'AWS::ApiGatewayV2::Api'));
    expect(api!.Properties!.CorsConfiguration).toBeUndefined();
  }, SYNTH_TIMEOUT);
});

describe('relay mode behind the edge, no custom domain', () => {
  it('its one origin is the distribution\'s, derived when unset; the default certificate and HSTS without preload', () => {
    const synth = synthesize(RELAY_EDGE);
    for (const name of ['par', 'token'] as const) {
      expect(functionEnv(synth.template, name).ALLOWED_ORIGINS).toEqual({ 'Fn::Join': ['', ['https://', domainOf(synth)]] });
      expect(functionEnv(synth.template, name).ALLOWED_REDIRECT_URIS).toBe(BASE_CONTEXT.allowedRedirectUris);
    }
    expect(distribution(synth).config.Aliases).toBeUndefined();
    expect((distribution(synth).config.ViewerCertificate as ViewerCertificate | undefined)?.AcmCertificateArn).toBeUndefined();
    expect(outputs(synth).CnameTarget).toBeUndefined();
    synth.template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: { SecurityHeadersConfig: { StrictTransportSecurity: { Preload: false } } },
    });
  }, SYNTH_TIMEOUT);
});

describe('the custom domain\'s keys', () => {
  it('are read into the edge\'s configuration (the zone name without its trailing dot)', () => {
    expect(parse({ ...EDGE_BFF, ...DOMAIN, hostedZoneId: ZONE.hostedZoneId, hostedZoneName: 'example.com.' }).edge).toMatchObject({
      domain: { name: 'app.example.com', certificateArn: CERTIFICATE, hostedZone: { id: ZONE.hostedZoneId, name: 'example.com' } },
      hstsPreload: false,
    });
    expect(parse({ ...EDGE_BFF, ...DOMAIN, ...ZONE, domainName: 'example.com' }).edge!.domain!.name).toBe('example.com');
    expect(parse({ ...EDGE_BFF }).edge!.domain).toBeUndefined();
  });

  it.each([
    [{ certificateArn: 'arn:aws:acm:eu-west-1:111122223333:certificate/1234abcd-12ab-34cd-56ef-1234567890ab' }, /"certificateArn" must be an ACM certificate in us-east-1, where CloudFront reads its certificates, got one in eu-west-1/],
    [{ certificateArn: 'arn:aws:iam::111122223333:server-certificate/app' }, /"certificateArn" must be the ARN of an ACM certificate, arn:aws:acm:us-east-1:/],
    [{ certificateArn: `${CERTIFICATE}x` }, /"certificateArn" must be the ARN of an ACM certificate/],
    [{ domainName: 'https://app.example.com' }, /"domainName" must be a lower-case DNS name/],
    [{ domainName: 'App.example.com' }, /"domainName" must be a lower-case DNS name/],
    [{ domainName: '*.example.com' }, /"domainName" must be a lower-case DNS name/],
    [{ domainName: 'localhost' }, /"domainName" must be a lower-case DNS name/],
    [{ domainName: 'app-.example.com' }, /"domainName" must be a lower-case DNS name/],
    [{ certificateArn: undefined }, /"certificateArn" is required with domainName: CloudFront serves a custom domain only with a certificate for it[^\n]*, e\.g\. -c certificateArn=arn:aws:acm:us-east-1:/],
    [{ domainName: undefined }, /"certificateArn" applies only with domainName/],
    [{ hostedZoneId: ZONE.hostedZoneId }, /"hostedZoneName" is required with hostedZoneId: the zone is named by both, so that synthesis looks nothing up/],
    [{ hostedZoneName: 'example.com' }, /"hostedZoneId" is required with hostedZoneName/],
    [{ ...ZONE, hostedZoneId: 'example.com' }, /"hostedZoneId" must be a Route 53 hosted zone id/],
    [{ ...ZONE, hostedZoneName: 'example.org' }, /"domainName" must be hostedZoneName \(example\.org\) or a name under it, got app\.example\.com/],
    [{ ...ZONE, hostedZoneName: 'ple.com' }, /"domainName" must be hostedZoneName \(ple\.com\) or a name under it/],
    [{ domainName: undefined, certificateArn: undefined, ...ZONE }, /"hostedZoneId" applies only with domainName/],
    [{ domainName: undefined, certificateArn: undefined, hstsPreload: 'true' }, /"hstsPreload" needs domainName: a preload list holds your own registrable domain/],
    [{ hstsPreload: 'yes' }, /"hstsPreload" must be true or false/],
  ])('refuses %j naming the key and why', (context, message) => {
    expect(messageOf({ ...EDGE_BFF, ...DOMAIN, ...context })).toMatch(message);
  });

  it('all apply only with edge=true', () => {
    for (const [key, value] of Object.entries({ ...DOMAIN, ...ZONE, hstsPreload: 'true' })) {
      if (key === 'edge') continue;
      expect(messageOf({ [key]: value }), key).toMatch(new RegExp(`"${key}" applies only with edge=true`));
    }
  });
});

describe('proxyMode with the edge', () => {
  it('defaults to bff (and says so to the bff function); relay stays the default without it, and can be chosen with it', () => {
    const config = parse(EDGE_BFF);
    expect(config.proxyMode).toBe('bff');
    expect(config.environment.PROXY_MODE).toBe('bff');
    expect(parse({}).proxyMode).toBe('relay');
    expect(parse({}).environment.PROXY_MODE).toBeUndefined();
    expect(parse({ edge: 'true', proxyMode: 'relay' }).proxyMode).toBe('relay');
    // relay's redirect URIs are the SPA's routes: still required; its origin is derived.
    expect(messageOf({ ...RELAY_EDGE, allowedRedirectUris: undefined })).toMatch(/^CDK context "allowedRedirectUris" is required with proxyMode=relay/);
    expect(parse(RELAY_EDGE).allowedOrigins).toEqual([]);
    // The README's relay example, with edge=true added, now reads as bff: the relay-only key says so.
    expect(messageOf({ edge: 'true' })).toMatch(/"allowedRedirectUris" applies only with proxyMode=relay.*\(with edge=true proxyMode defaults to bff: -c proxyMode=relay keeps the relay\)/);
    expect(messageOf({ proxyMode: 'bff' })).not.toMatch(/defaults to bff/);
  });

  it('an invalid edge value is named as edge\'s problem alone', () => {
    expect(messageOf({ edge: { on: true } })).toMatch(/^CDK context "edge" must be a string/);
    expect(messageOf({ edge: { on: true } })).not.toMatch(/"proxyMode"/);
  });
});

describe('bff mode: the session cookie must be first-party', () => {
  const EXECUTE_API = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/callback';

  it('without the edge, a callback on the execute-api URL or on another site fails synthesis, naming edge=true as the fix', () => {
    for (const redirectUri of [EXECUTE_API, 'https://auth.example.org/callback']) {
      const message = messageOf({ ...BFF_CONTEXT, redirectUri });
      expect(message, redirectUri).toMatch(/^CDK context "redirectUri" is on another site than the SPA \(https:\/\/app\.example\.com\)/);
      expect(message).toContain('third-party cookie, which Safari and Firefox drop');
      expect(message).toContain('Deploy with -c edge=true');
    }
    // Every origin of a different site is named.
    expect(messageOf({ ...BFF_CONTEXT, allowedOrigins: 'https://app.example.com,https://app.example.net' })).toMatch(/another site than the SPA \(https:\/\/app\.example\.net\)/);
  });

  it('without the edge, a callback on the SPA\'s site (a domain of the operator\'s mapped to the API) synthesises', () => {
    expect(parse({ ...BFF_CONTEXT }).proxyMode).toBe('bff');
    expect(parse({ ...BFF_CONTEXT, redirectUri: 'https://auth.example.com/callback' }).environment.REDIRECT_URI).toBe('https://auth.example.com/callback');
    expect(parse({ ...BFF_CONTEXT, allowedOrigins: 'https://app.example.co.uk', redirectUri: 'https://auth.example.co.uk/callback' }).proxyMode).toBe('bff');
  });

  it('relay deployments without the edge are not concerned', () => {
    expect(parse({ allowedOrigins: 'https://app.example.org' }).proxyMode).toBe('relay');
  });

  it('with the edge and a custom domain, a given callback must be on the domain\'s site', () => {
    expect(messageOf({ ...EDGE_BFF, ...DOMAIN, redirectUri: EXECUTE_API })).toMatch(
      /"redirectUri" is on another site than the SPA \(https:\/\/app\.example\.com\).*Leave redirectUri unset \(it is then https:\/\/app\.example\.com\/callback\)/,
    );
    expect(parse({ ...EDGE_BFF, ...DOMAIN, redirectUri: 'https://app.example.com/callback' }).environment.REDIRECT_URI).toBe('https://app.example.com/callback');
  });

  it('with the edge and no domain, a given callback must be on the distribution\'s *.cloudfront.net name, the only one it answers on', () => {
    expect(messageOf({ ...EDGE_BFF, redirectUri: 'https://app.example.com/callback' })).toMatch(
      /^CDK context "redirectUri" must be on the distribution's \*\.cloudfront\.net name with edge=true and no domainName.*leave it unset \(it is then \{AppUrl\}\/callback\), or give domainName/,
    );
    expect(parse({ ...EDGE_BFF, redirectUri: 'https://d111111abcdef8.cloudfront.net/callback' }).environment.REDIRECT_URI).toBe('https://d111111abcdef8.cloudfront.net/callback');
  });

  it('the ApiUrl output says where the browser calls a bff without the edge', () => {
    const synth = synthesize({ ...BFF_CONTEXT, redirectUri: 'https://auth.example.com/callback' });
    expect(outputs(synth).ApiUrl!.Description).toContain('The browser calls it at https://auth.example.com, a domain of the SPA\'s site mapped to this API');
  }, SYNTH_TIMEOUT);
});

describe('sites (the scheme and the registrable domain, approximated)', () => {
  it.each([
    ['https://app.example.com', 'https://example.com'],
    ['https://a.b.example.com:8443/x', 'https://example.com'],
    ['https://app.example.co.uk', 'https://example.co.uk'],
    ['http://localhost:5173', 'http://localhost'],
    ['https://127.0.0.1:8443', 'https://127.0.0.1'],
    ['https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/cb', 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com'],
    ['https://d111111abcdef8.cloudfront.net', 'https://d111111abcdef8.cloudfront.net'],
  ])('%s is on %s', (url, site) => expect(siteOf(url)).toBe(site));

  it('two execute-api hosts, or two distributions, are different sites; the scheme counts', () => {
    expect(sameSite('https://a.execute-api.eu-west-1.amazonaws.com', 'https://b.execute-api.eu-west-1.amazonaws.com')).toBe(false);
    expect(sameSite('https://d1.cloudfront.net', 'https://d2.cloudfront.net')).toBe(false);
    expect(sameSite('https://app.example.com', 'http://app.example.com')).toBe(false);
    expect(sameSite('https://app.example.com', 'https://auth.example.com')).toBe(true);
  });
});

describe('the SPA\'s deep links (a CloudFront Function on its behaviour)', () => {
  /** The viewer-request event CloudFront Functions get (event structure, version 1.0). */
  const event = (uri: string, querystring: Record<string, unknown> = {}) => ({
    version: '1.0',
    context: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'viewer-request', requestId: 'r1' },
    viewer: { ip: '198.51.100.11' },
    request: { method: 'GET', uri, querystring, headers: { host: { value: 'app.example.com' }, accept: { value: 'text/html' } }, cookies: {} },
  });
  // The deployed code itself, in a context of its own as CloudFront runs it.
  const handler = runInNewContext(`${SPA_ROUTES_CODE}\nhandler`, Object.create(null)) as (e: ReturnType<typeof event>) => ReturnType<typeof event>['request'];

  it.each([
    ['/settings', '/index.html'],
    ['/orders/42', '/index.html'],
    ['/', '/index.html'],
    ['/settings/', '/index.html'],
    ['/v1.2/orders', '/index.html'],
    ['/assets/app.4f2a.js', '/assets/app.4f2a.js'],
    ['/favicon.ico', '/favicon.ico'],
    ['/index.html', '/index.html'],
    ['/.well-known/security.txt', '/.well-known/security.txt'],
  ])('%s is served from %s', (uri, served) => {
    expect(handler(event(uri)).uri).toBe(served);
  });

  it('keeps the query string, the method and the headers as they came', () => {
    const querystring = { tab: { value: 'profile' }, id: { value: '1', multiValue: [{ value: '1' }, { value: '2' }] } };
    const request = handler(event('/settings', querystring));
    expect(request).toEqual({ ...event('/settings', querystring).request, uri: '/index.html' });
  });

  it('runs on the SPA\'s behaviour only, as cloudfront-js-2.0 at viewer request; the proxy\'s routes never reach it', () => {
    const synth = synthesize(EDGE_BFF);
    const [functionId, fn] = Object.entries(resources(synth.template, 'AWS::CloudFront::Function'))[0]!;
    synth.template.resourceCountIs('AWS::CloudFront::Function', 1);
    expect(fn.Properties!.FunctionCode).toBe(SPA_ROUTES_CODE);
    expect(fn.Properties!.FunctionConfig).toMatchObject({ Runtime: 'cloudfront-js-2.0' });
    const { config } = distribution(synth);
    const spa = config.DefaultCacheBehavior as { FunctionAssociations?: unknown };
    expect(spa.FunctionAssociations).toEqual([{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionId, 'FunctionARN'] } }]);
    const proxy = config.CacheBehaviors as Array<{ PathPattern: string; FunctionAssociations?: unknown }>;
    expect(proxy.map((behavior) => behavior.PathPattern).sort()).toEqual(['/.well-known/jwks.json', '/api/*', '/backchannel-logout', '/callback', '/logout', '/par', '/session']);
    for (const behavior of proxy) expect(behavior.FunctionAssociations, behavior.PathPattern).toBeUndefined();
    // No distribution-wide error rewriting: the proxy's 403 and 404 reach the browser as sent.
    expect(config.CustomErrorResponses).toBeUndefined();
  }, SYNTH_TIMEOUT);

  it('an existing SPA origin routes its own paths: no function', () => {
    const synth = synthesize({ ...EDGE_BFF, spaOrigin: 'https://spa.example.com' });
    synth.template.resourceCountIs('AWS::CloudFront::Function', 0);
    expect((distribution(synth).config.DefaultCacheBehavior as { FunctionAssociations?: unknown }).FunctionAssociations).toBeUndefined();
  }, SYNTH_TIMEOUT);
});
