import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { FunctionSpec } from '../functions/manifest.ts';
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
  /** Origins the browser may call from; API Gateway answers their preflights. */
  readonly allowedOrigins: readonly string[];
  readonly throttle: ThrottleConfig;
  readonly logRetention: logs.RetentionDays;
}

/** An HTTP API with exactly the functions' routes, CORS for the configured origins, throttling and access logs. */
export class ProxyHttpApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ProxyHttpApiProps) {
    super(scope, id);
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-par-proxy`,
      description: 'PAR proxy: /par, /token and the JWKS',
      // The stage is created below, with throttling and access logs the default stage cannot take.
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [...props.allowedOrigins],
        allowMethods: [...corsMethods(props.functions.map(({ spec }) => spec)), apigw.CorsHttpMethod.OPTIONS],
        allowHeaders: ['content-type'],
        // 503 answers carry Retry-After; the SPA may read it.
        exposeHeaders: ['retry-after'],
        allowCredentials: false,
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
        this.api.addRoutes({ path: route.path, methods: [apigw.HttpMethod[route.method]], integration });
      }
    }
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Public OAuth endpoints by design: a browser SPA calls /par and /token before the user is authenticated, and ' +
        'authorization servers fetch the JWKS anonymously. Callers are limited by the CORS origin allow-list, the ' +
        'handlers\' Origin and redirect_uri checks, and stage throttling; the proxy holds the client credentials.',
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

/** The routes' methods, for the CORS preflight answer. */
function corsMethods(specs: readonly FunctionSpec[]): apigw.CorsHttpMethod[] {
  const methods = new Set(specs.flatMap((spec) => spec.routes.map((route) => route.method)));
  return [...methods].sort().map((method) => apigw.CorsHttpMethod[method]);
}
