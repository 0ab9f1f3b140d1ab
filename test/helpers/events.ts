import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

/** An API Gateway HTTP API (payload format 2.0) event, as the Lambda handler receives it. */
export function apiEvent(options: {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  requestId?: string;
}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'POST';
  const path = options.path ?? '/par';
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'proxy.example.test', ...options.headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'proxy.example.test',
      domainPrefix: 'proxy',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: options.requestId ?? 'test-request-id',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}

export const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'par',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:par',
  memoryLimitInMB: '512',
  awsRequestId: 'aws-request-id',
  logGroupName: '/aws/lambda/par',
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => 10_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} as Context;

/** A PKCE S256 challenge of the right shape (RFC 7636 appendix B). */
export const CODE_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
