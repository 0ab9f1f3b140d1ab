import { Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { CloudFrontTarget } from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { ORIGIN_VERIFY_HEADER } from '../functions/core/origin-verify.ts';
import { routePath, type FunctionSpec } from '../functions/manifest.ts';
import type { EdgeConfig, EdgeDomain } from './config.ts';
import { SPA_ROUTES_CODE } from './spa-routes.ts';

/** HSTS max-age: two years, over the year hstspreload.org asks for (preload itself is opt-in, `hstsPreload`: it is hard to undo). */
export const HSTS_MAX_AGE = Duration.days(730);

export interface EdgeProps {
  readonly config: EdgeConfig;
  /** The API's base URL (`https://<id>.execute-api.<region>.<suffix>`), a token. */
  readonly apiUrl: string;
  /** The deployed functions' specs: their routes are the proxy's behaviours. */
  readonly specs: readonly FunctionSpec[];
  readonly basePath: string;
  /** The web ACL's ARN (infra/firewall.ts, us-east-1), a reference into that stack. */
  readonly webAclArn: string;
  /** The origin secret's value for the API origin's x-origin-verify header: a dynamic reference (infra/origin-secret.ts). */
  readonly originVerifyHeader: string;
}

/**
 * The path patterns CloudFront sends to the API: every route of the functions, a route's variable
 * part (`/api/{name}/{proxy+}`) as `*`, and under a base path the one prefix `<basePath>/*`.
 */
export function proxyPathPatterns(specs: readonly FunctionSpec[], basePath: string): string[] {
  const patterns = specs.flatMap((spec) =>
    spec.routes.map((route) => {
      if (spec.underBasePath === true && basePath !== '') return `${basePath}/*`;
      const path = routePath(spec, route.path, basePath);
      const variable = path.indexOf('/{');
      return variable === -1 ? path : `${path.slice(0, variable)}/*`;
    }),
  );
  return [...new Set(patterns)];
}

/**
 * The functions' URLs on the site (`https://<domain>`), for the keys the context leaves unset: the
 * one origin the SPA calls from, and the bff's callback and where the browser lands.
 */
export function edgeEnvironment(siteUrl: string, basePath: string, bff: boolean): Record<string, string> {
  if (!bff) return { ALLOWED_ORIGINS: siteUrl };
  return { REDIRECT_URI: `${siteUrl}${basePath}/callback`, APP_URL: `${siteUrl}/`, ALLOWED_ORIGINS: siteUrl };
}

/**
 * One CloudFront origin for the SPA and the proxy, so that the bff's cookie is first-party and the
 * relay's calls are same-origin: the SPA (a private bucket read through origin access control, or an
 * existing origin) by default, the proxy's routes to the HTTP API uncached.
 */
export class Edge extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly spaBucket?: s3.Bucket;
  /** With the stack's bucket: index.html for the SPA's deep links (infra/spa-routes.ts). */
  readonly spaRoutes?: cloudfront.Function;
  readonly headers: cloudfront.ResponseHeadersPolicy;

  constructor(scope: Construct, id: string, props: EdgeProps) {
    super(scope, id);
    const { config } = props;

    this.headers = new cloudfront.ResponseHeadersPolicy(this, 'SpaHeaders', {
      comment: 'The SPA: HSTS, no framing, no sniffing, no referrer, a strict CSP',
      securityHeadersBehavior: {
        strictTransportSecurity: { accessControlMaxAge: HSTS_MAX_AGE, includeSubdomains: true, preload: config.hstsPreload, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        // The callback URL carries the code and state in its query: no-referrer keeps them out of every
        // request the page makes, same-origin ones too (whose Referer would reach the proxy).
        // The bff's POSTs are fetch() calls, which still send Origin under no-referrer.
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        contentSecurityPolicy: { contentSecurityPolicy: config.contentSecurityPolicy, override: true },
      },
    });

    if (config.spaOrigin === undefined) {
      this.spaBucket = spaBucket(this);
      this.spaRoutes = new cloudfront.Function(this, 'SpaRoutes', {
        code: cloudfront.FunctionCode.fromInline(SPA_ROUTES_CODE),
        runtime: cloudfront.FunctionRuntime.JS_2_0,
        comment: 'The SPA\'s deep links: index.html for every path without a file extension',
      });
    }
    const spaOrigin = this.spaBucket === undefined ? httpsOrigin(config.spaOrigin!) : S3BucketOrigin.withOriginAccessControl(this.spaBucket);
    // The API's host: execute-api answers on its own name only, so Host is not forwarded (below).
    const apiOrigin = new HttpOrigin(Fn.select(2, Fn.split('/', props.apiUrl)), {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      // The functions refuse every request without it: the API answers only through the edge.
      customHeaders: { [ORIGIN_VERIFY_HEADER]: props.originVerifyHeader },
    });
    const proxy: cloudfront.BehaviorOptions = {
      origin: apiOrigin,
      // Never redirect a POST: a redirected body is lost, and http is refused outright.
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      // Sessions, codes and tokens: nothing of the proxy's is ever cached at the edge.
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      // Cookies, query and headers reach the functions as sent, except Host.
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'PAR proxy: the SPA and the proxy on one origin',
      defaultRootObject: this.spaBucket === undefined ? undefined : 'index.html',
      defaultBehavior: {
        origin: spaOrigin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.headers,
        // An existing SPA origin routes its own paths.
        ...(this.spaRoutes === undefined ? {} : { functionAssociations: [{ function: this.spaRoutes, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }] }),
      },
      additionalBehaviors: Object.fromEntries(proxyPathPatterns(props.specs, props.basePath).map((pattern) => [pattern, proxy])),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...(config.domain === undefined ? {} : viewerCertificate(this, config.domain)),
      webAclId: props.webAclArn,
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR3',
      reason:
        'Access logs are CloudFront standard logging v2 (infra/edge-logs.ts, a delivery source in us-east-1), whose record ' +
        'fields leave out the query string and cookies; the legacy logging this rule looks for always records the query, the callback\'s code.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'No geo restriction: the SPA\'s users sign in from wherever they are, and a country block is no access control. ' +
        'A deployment that must serve only some countries can add one; the authorization server decides who signs in.',
    });
    if (config.domain === undefined) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate keeps CloudFront\'s TLSv1 security policy, which cannot be raised without ' +
          'a certificate of your own: a custom domain (domainName, certificateArn) sets TLSv1.2_2021.',
      });
    }
    if (config.domain?.hostedZone !== undefined) aliasRecords(this, config.domain.name, config.domain.hostedZone, this.distribution);
    if (this.spaBucket !== undefined && config.spaPath !== undefined) {
      new s3deploy.BucketDeployment(this, 'SpaDeployment', {
        sources: [s3deploy.Source.asset(config.spaPath)],
        destinationBucket: this.spaBucket,
        // A new build replaces the old one, and CloudFront drops what it cached of it.
        prune: true,
        distribution: this.distribution,
        distributionPaths: ['/*'],
      });
      acknowledgeDeploymentHandler(this, this.spaBucket);
    }
  }
}

/** The custom domain's name and certificate, and TLS 1.2 at least for the viewers (the 2021 policy's ciphers). */
function viewerCertificate(scope: Construct, domain: EdgeDomain): Pick<cloudfront.DistributionProps, 'domainNames' | 'certificate' | 'minimumProtocolVersion'> {
  return {
    domainNames: [domain.name],
    certificate: acm.Certificate.fromCertificateArn(scope, 'Certificate', domain.certificateArn),
    minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
  };
}

/** A and AAAA alias records for the name (the distribution answers on IPv6 too), in a zone named in full: no lookup. */
function aliasRecords(scope: Construct, name: string, hostedZone: { id: string; name: string }, distribution: cloudfront.Distribution): void {
  const zone = route53.HostedZone.fromHostedZoneAttributes(scope, 'Zone', { hostedZoneId: hostedZone.id, zoneName: hostedZone.name });
  const target = route53.RecordTarget.fromAlias(new CloudFrontTarget(distribution));
  new route53.ARecord(scope, 'AliasA', { zone, recordName: `${name}.`, target });
  new route53.AaaaRecord(scope, 'AliasAaaa', { zone, recordName: `${name}.`, target });
}

/** A private bucket that only the distribution reads (origin access control, its bucket policy). */
function spaBucket(scope: Construct): s3.Bucket {
  const bucket = new s3.Bucket(scope, 'Spa', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'Read only through CloudFront (origin access control, bucket policy limited to this distribution), whose standard ' +
      'logs record every request; writes come from the deployment. S3 server access logs would repeat the edge logs.',
  });
  return bucket;
}

/**
 * BucketDeployment's handler is the CDK's own function (a singleton of the stack), whose role and
 * runtime this stack does not choose: each of its findings, named, with why it is acceptable.
 */
function acknowledgeDeploymentHandler(scope: Construct, bucket: s3.Bucket): void {
  const stack = Stack.of(scope);
  const handler = stack.node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (handler === undefined) throw new Error('BucketDeployment created no handler function');
  const bucketId = (stack.resolve(bucket.bucketArn) as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const qualifier = (stack.synthesizer as { bootstrapQualifier?: string }).bootstrapQualifier ?? 'hnb659fds';
  // With the edge the stack has an explicit region (its us-east-1 references): the asset bucket's ARN is then literal.
  const [partition, region] = Token.isUnresolved(stack.region) ? ['<AWS::Partition>', '<AWS::Region>'] : [stack.partition, stack.region];
  const why =
    'The CDK\'s BucketDeployment handler, run only by CloudFormation at deploy time to copy the SPA build from the ' +
    'bootstrap asset bucket into the SPA bucket and invalidate the distribution; the CDK builds its role and runtime.';
  Validations.of(handler).acknowledge(
    { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: `${why} The managed policy only lets it write its own logs.` },
    ...['s3:GetBucket*', 's3:GetObject*', 's3:List*'].map((action) => ({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${why} ${action} is the CDK's read grant on the asset bucket (and the SPA bucket it syncs).`,
    })),
    ...['s3:Abort*', 's3:DeleteObject*'].map((action) => ({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${why} ${action} is the CDK's write grant on the SPA bucket: prune deletes files the new build no longer has.`,
    })),
    {
      id: `AwsSolutions-IAM5[Resource::arn:${partition}:s3:::cdk-${qualifier}-assets-<AWS::AccountId>-${region}/*]`,
      reason: `${why} The asset object's key is a content hash known only at publish time: the grant covers the bootstrap asset bucket.`,
    },
    { id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`, reason: `${why} The objects of the SPA bucket, every file of the build.` },
    { id: 'AwsSolutions-IAM5[Resource::*]', reason: `${why} cloudfront:CreateInvalidation and GetInvalidation take no resource narrower than * in the CDK's grant.` },
    { id: 'AwsSolutions-L1', reason: `${why} Its runtime is the one the CDK version pins; it is upgraded with aws-cdk-lib, not by this stack.` },
  );
}

/** An existing origin serving the SPA, by https only. */
function httpsOrigin(origin: string): cloudfront.IOrigin {
  const url = new URL(origin);
  return new HttpOrigin(url.hostname, {
    protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
    ...(url.port === '' ? {} : { httpsPort: Number(url.port) }),
  });
}
