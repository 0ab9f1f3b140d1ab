import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { expect } from 'vitest';
import { REQUEST_BUDGET_MS } from '../../functions/core/deadline.ts';
import { lambdaHandler, type ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { parAppFromEnv } from '../../functions/par/wiring.ts';
import { startFakeKms, type FakeKms } from '../../local/fake-kms.ts';
import { startFakeSecretsManager, type FakeSecretsManager } from '../../local/fake-secrets-manager.ts';
import { useLocalAws } from '../../local/stack.ts';
import { apiEvent, CODE_CHALLENGE, lambdaContext } from './events.ts';
import { startScriptedAuthorizationServer, type ScriptedAuthorizationServer } from './scripted-authorization-server.ts';

/**
 * The proxy's functions as Lambda would run them, wired to wire-level KMS and Secrets Manager
 * stand-ins and a scripted authorization server, all on 127.0.0.1.
 */
export const ORIGIN = 'https://app.example.com';
export const REDIRECT_URI = 'https://app.example.com/callback';
export const CLIENT_ID = 'client-1';
export const CLIENT_SECRET = 'the-client-secret-Zq8r7Xw2';
export const UPSTREAM_TIMEOUT_MS = 1000;

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | number | boolean>;
  readonly body: Record<string, unknown>;
  readonly raw: string;
  readonly ms: number;
}

export interface Harness {
  readonly kms: FakeKms;
  readonly secretsManager: FakeSecretsManager;
  readonly as: ScriptedAuthorizationServer;
  readonly env: Record<string, string>;
  readonly secretArn: string;
  /** A fresh container: the handler module's state as after a cold start. */
  coldPar(overrides?: Record<string, string>): ApiGatewayHandler;
  /** Upstream calls so far: KMS, Secrets Manager, authorization server. */
  calls(): { kms: number; secretsManager: number; as: number };
  close(): Promise<void>;
}

export const validIntent = () => ({
  redirect_uri: REDIRECT_URI,
  code_challenge: CODE_CHALLENGE,
  code_challenge_method: 'S256',
  state: 'state-1',
  nonce: 'nonce-1',
  scope: 'openid',
});

export async function startHarness(): Promise<Harness> {
  const kms = await startFakeKms();
  const secretsManager = await startFakeSecretsManager();
  useLocalAws(kms, secretsManager);
  kms.createKey({ alias: 'alias/par' });
  const secret = secretsManager.createSecret('par/client', JSON.stringify({ client_secret: CLIENT_SECRET }));
  const as = await startScriptedAuthorizationServer();
  const env = {
    ISSUER: as.issuer,
    CLIENT_ID,
    CLIENT_SECRET_ID: secret.arn,
    KMS_KEY_ID: 'alias/par',
    ALLOWED_ORIGINS: ORIGIN,
    ALLOWED_REDIRECT_URIS: REDIRECT_URI,
    UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
  };
  return {
    kms,
    secretsManager,
    as,
    env,
    secretArn: secret.arn,
    coldPar: (overrides = {}) => lambdaHandler(parAppFromEnv({ ...env, ...overrides })),
    calls: () => ({ kms: kms.totalCalls(), secretsManager: secretsManager.totalCalls(), as: as.requests.length }),
    close: async () => {
      await Promise.all([kms.close(), secretsManager.close(), as.close()]);
    },
  };
}

export async function invoke(
  handler: ApiGatewayHandler,
  options: { body?: unknown; headers?: Record<string, string>; method?: string; path?: string; base64?: boolean } = {},
): Promise<Answer> {
  const raw = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const started = performance.now();
  const result = (await handler(
    apiEvent({
      method: options.method ?? 'POST',
      path: options.path ?? '/par',
      headers: { 'content-type': 'application/json', origin: ORIGIN, ...options.headers },
      ...(raw === undefined ? {} : { body: options.base64 ? Buffer.from(raw).toString('base64') : raw }),
      isBase64Encoded: options.base64 ?? false,
    }),
    lambdaContext,
  )) as Exclude<APIGatewayProxyResultV2, string>;
  const text = result.body ?? '';
  let body: Record<string, unknown> = {};
  try {
    body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    body = { unparsable: text };
  }
  return { status: result.statusCode ?? 0, headers: result.headers ?? {}, body, raw: text, ms: performance.now() - started };
}

/** What a fault-matrix row expects: the answer, and the upstream calls the request made. */
export interface ExpectedFailure {
  readonly status: number;
  readonly error: string;
  readonly retryAfter?: string;
  readonly calls: { kms?: number; secretsManager?: number; as?: number };
  /** Upper bound on the answer's time, milliseconds (default: the whole request budget). */
  readonly within?: number;
}

export type Calls = ReturnType<Harness['calls']>;

/**
 * A failure as the contract has it: the status and OAuth error, exactly {error, error_description}
 * with a printable description, no-store, Retry-After where expected, exactly the upstream calls
 * expected between `before` and `after`, and an answer within the time budget.
 */
export function expectFailure(answer: Answer, before: Calls, after: Calls, expected: ExpectedFailure): void {
  expect(answer.status, answer.raw).toBe(expected.status);
  expect(Object.keys(answer.body).sort()).toEqual(['error', 'error_description']);
  expect(answer.body.error).toBe(expected.error);
  expect(answer.body.error_description).toMatch(/^[\x20-\x7e]{1,256}$/);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.headers['retry-after']).toBe(expected.retryAfter);
  expect({
    kms: after.kms - before.kms,
    secretsManager: after.secretsManager - before.secretsManager,
    as: after.as - before.as,
  }).toEqual({ kms: 0, secretsManager: 0, as: 0, ...expected.calls });
  expect(answer.ms).toBeLessThan(expected.within ?? REQUEST_BUDGET_MS);
}
