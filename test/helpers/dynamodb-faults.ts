import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A wire-level stand-in in front of the local session table (dynalite, which cannot throttle): it
 * forwards every call unless a rule says otherwise for the operation (X-Amz-Target), and then
 * answers as DynamoDB does when throttling (400 ProvisionedThroughputExceededException), failing
 * (500 InternalServerError) or slow (the answer held back). 127.0.0.1 only.
 */
export type DynamoFault = 'throttle' | 'error' | { readonly delayMs: number };

export interface FaultyDynamoDb {
  readonly url: string;
  /** Calls seen per operation (GetItem, UpdateItem, ...), faults included. */
  readonly calls: Map<string, number>;
  /** The fault for these operations (all when none listed); undefined clears it. */
  fault(fault: DynamoFault | undefined, operations?: readonly string[]): void;
  close(): Promise<void>;
}

export async function startFaultyDynamoDb(upstream: string): Promise<FaultyDynamoDb> {
  const calls = new Map<string, number>();
  let rule: { fault: DynamoFault; operations?: readonly string[] } | undefined;
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      calls.set(operation, (calls.get(operation) ?? 0) + 1);
      const applies = rule !== undefined && (rule.operations === undefined || rule.operations.includes(operation));
      const fail = (status: number, type: string) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: type }));
      };
      const forward = () => {
        const out = http.request(
          { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, timeout: 10_000 },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        out.on('error', () => res.destroy());
        out.end(Buffer.concat(chunks));
      };
      if (!applies) return forward();
      const fault = rule!.fault;
      if (fault === 'throttle') return fail(400, 'ProvisionedThroughputExceededException');
      if (fault === 'error') return fail(500, 'InternalServerError');
      setTimeout(forward, fault.delayMs).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    fault: (fault, operations) => {
      rule = fault === undefined ? undefined : { fault, ...(operations === undefined ? {} : { operations }) };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
