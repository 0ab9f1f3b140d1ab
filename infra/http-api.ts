import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CSRF_HEADER } from '../functions/app/http.ts';
import { API_METHODS } from '../functions/core/api-path.ts';
import { hasCapability, routePath, type FunctionSpec, type HttpMethod } from '../functions/manifest.ts';
import type { ThrottleConfig } from './config.ts';

/**
 * One JSON line per request. No query strings, headers or bodies: only routing, status, timing and the
 * caller's address (kept as long as the log group's retention) for abuse investigations.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTimeEpoch',
  ip: '$context.identity.sourceIp',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
  userAgent: '$context.identity.userAgent',
};

export interface ProxyHttpApiProps {
  /** Each function with the routes its spec declares: the API's whole surface (anything else gets API Gateway's 404). */
  readonly functions: ReadonlyArray<{ readonly spec: FunctionSpec; readonly fn: lambda.IFunction }>;
  /** Origins the browser may call from; API Gateway answers their preflights. Empty: no CORS at all. */
  readonly allowedOrigins: readonly string[];
  /** The prefix of the routes of functions with `underBasePath` (bff mode's BASE_PATH); '' for none. */
  readonly basePath: string;
  /** The API's description. */
  readonly description: string;
  readonly throttle: ThrottleConfig;
  readonly logRetention: logs.RetentionDays;
  /** Relay DPoP: the SPA sends a DPoP header to /token and reads its DPoP-Nonce answer (RFC 9449 8). */
  readonly dpop?: boolean;
}

/** An HTTP API with exactly the functions' routes, CORS for the configured origins, throttling and access logs. */
export class ProxyHttpApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ProxyHttpApiProps) {
    super(scope, id);
    const specs = props.functions.map(({ spec }) => spec);
    // The bff's calls carry its cookies: the browser sends them, and lets the SPA read the answer,
    // only when the preflight and the answer allow credentials.
    const sessions = specs.some((spec) => hasCapability(spec, ['session']));
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-par-proxy`,
      description: props.description,
      // The stage is created below, with throttling and access logs the default stage cannot take.
      createDefaultStage: false,
      // API Gateway answers every preflight itself, before any function, and replaces the functions'
      // CORS headers with its own: this must allow what the handlers' originCheck allows
      // (functions/app/http.ts), no more (test/infra/contract.test.ts compares the two).
      // None without origins: behind the edge in bff mode the SPA calls on its own origin.
      corsPreflight: props.allowedOrigins.length === 0 ? undefined : {
        allowOrigins: [...props.allowedOrigins],
        allowMethods: [...corsMethods(specs), apigw.CorsHttpMethod.OPTIONS],
        allowHeaders: sessions ? ['content-type', CSRF_HEADER] : ['content-type', ...(props.dpop === true ? ['dpop'] : [])],
        // 503 answers carry Retry-After; the SPA may read it (and DPoP's nonce, with DPoP).
        exposeHeaders: ['retry-after', ...(props.dpop === true ? ['dpop-nonce'] : [])],
        allowCredentials: sessions,
        // Same as the handlers' own preflight answer: fewer preflights, and a changed allow-list
        // reaches browsers within 10 minutes.
        maxAge: Duration.minutes(10),
      },
    });
    for (const { spec, fn } of props.functions) {
      // One integration per function, shared by its routes.
      const integration = new HttpLambdaIntegration(`${spec.name}Integration`, fn, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
      });
      for (const route of spec.routes) {
        this.api.addRoutes({ path: routePath(spec, route.path, props.basePath), methods: [apigw.HttpMethod[route.method]], integration });
      }
    }
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Public OAuth endpoints by design: a browser SPA calls /par and /token before the user is authenticated, and ' +
        'authorization servers fetch the JWKS anonymously; in bff mode the session is the sealed cookie the bff itself checks. ' +
        'Callers are limited by the CORS origin allow-list, the handlers\' Origin, X-CSRF and redirect_uri checks, and stage ' +
        'throttling; the proxy holds the client credentials.',
    });

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      // Kept when the stack goes, like the functions' logs (infra/proxy-functions.ts).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
  }

  /** The API's base URL, without trailing slash. */
  get url(): string {
    return `https://${this.api.apiId}.execute-api.${this.api.stack.region}.${this.api.stack.urlSuffix}`;
  }
}


/**
 * The routes' methods, for the CORS preflight answer. ANY (the bff's /api/...) is the methods the bff
 * forwards, named one by one: a preflight with credentials takes no `*`.
 */
function corsMethods(specs: readonly FunctionSpec[]): apigw.CorsHttpMethod[] {
  const expand = (method: HttpMethod): readonly string[] => (method === 'ANY' ? API_METHODS : [method]);
  const methods = new Set(specs.flatMap((spec) => spec.routes.flatMap((route) => expand(route.method))));
  return [...methods].sort().map((method) => apigw.CorsHttpMethod[method as keyof typeof apigw.CorsHttpMethod]);
}
