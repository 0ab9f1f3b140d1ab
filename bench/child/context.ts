/** The parts of a Lambda context object the handlers can read; the children build it themselves. */
export const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bench',
  memoryLimitInMB: '512',
  awsRequestId: 'bench-request-id',
  logGroupName: '/aws/lambda/bench',
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => 10_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};

export type Handler = (event: unknown, context: typeof lambdaContext) => Promise<{ statusCode?: number }>;
