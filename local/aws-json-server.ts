import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A wire-level stand-in for an AWS service that speaks the AWS JSON 1.1 protocol: POST /, the
 * operation in X-Amz-Target, a JSON body, errors as {"__type", "message"}. The real AWS SDK talks to
 * it through its own endpoint variables (AWS_ENDPOINT_URL_KMS, ...). Local stack and tests only:
 * nothing under functions/ imports this.
 */
export class AwsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** What a test can make the next calls do instead of answering normally. */
export type Fault =
  | { readonly kind: 'error'; readonly type: string; readonly status: number; readonly message?: string }
  | { readonly kind: 'hang' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'respond'; readonly status: number; readonly body: unknown };

export type FaultRule = (operation: string, input: Record<string, unknown>, call: number) => Fault | undefined;

export type Operation = (input: Record<string, unknown>) => unknown;

export interface AwsJsonServer {
  readonly url: string;
  /** Calls received per operation, faults included. */
  readonly calls: Map<string, number>;
  totalCalls(): number;
  setFault(rule: FaultRule | undefined): void;
  close(): Promise<void>;
}

export async function startAwsJsonServer(
  targetPrefix: string,
  operations: Readonly<Record<string, Operation>>,
  port = 0,
): Promise<AwsJsonServer> {
  const calls = new Map<string, number>();
  let fault: FaultRule | undefined;
  let total = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(`${targetPrefix}.`) ? target.slice(targetPrefix.length + 1) : target;
      calls.set(operation, (calls.get(operation) ?? 0) + 1);
      total += 1;
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        send(400, { __type: 'SerializationException', message: 'bad JSON' });
        return;
      }
      const injected = fault?.(operation, input, total);
      const answer = () => {
        const handler = operations[operation];
        if (handler === undefined) return send(400, { __type: 'UnknownOperationException', message: operation });
        try {
          send(200, handler(input));
        } catch (error) {
          if (error instanceof AwsFault) send(error.status, { __type: error.type, message: error.message });
          else send(500, { __type: 'InternalFailure', message: 'fake failed' });
        }
      };
      if (injected === undefined) return answer();
      switch (injected.kind) {
        case 'error':
          return send(injected.status, { __type: injected.type, message: injected.message ?? injected.type });
        case 'respond':
          return send(injected.status, injected.body);
        case 'delay':
          setTimeout(answer, injected.ms).unref();
          return;
        case 'hang':
          return; // never answers; the client's timeout must end the call
      }
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    calls,
    totalCalls: () => total,
    setFault: (rule) => {
      fault = rule;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
