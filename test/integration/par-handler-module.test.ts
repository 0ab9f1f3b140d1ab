import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { invoke, startHarness, validIntent, type Harness } from '../helpers/harness.ts';

/** functions/par/handler.ts as Lambda loads it: configuration read once, at import. */
let harness: Harness;
const original = { ...process.env };
let saved: NodeJS.ProcessEnv;

beforeAll(async () => {
  harness = await startHarness();
  saved = { ...process.env }; // with the SDK's endpoint variables pointing at the stand-ins
});
afterAll(async () => {
  process.env = original;
  await harness.close();
});

describe('functions/par/handler.ts', () => {
  it('fails at import, naming the variable, when the configuration is invalid (an init error)', async () => {
    for (const [variable, value] of [
      ['ISSUER', undefined],
      ['KMS_KEY_ID', undefined],
      ['SIGNING_ALG', 'HS256'],
      ['REQUEST_OBJECT_TTL', 'soon'],
    ] as const) {
      vi.resetModules();
      process.env = { ...saved, ...harness.env, [variable]: value };
      if (value === undefined) delete process.env[variable];
      await expect(import('../../functions/par/handler.ts')).rejects.toThrow(new RegExp(`^${variable}: `));
    }
  });

  it('exports a handler that answers API Gateway v2 events, making no call at import outside Lambda', async () => {
    vi.resetModules();
    process.env = { ...saved, ...harness.env };
    const before = harness.calls();
    const { handler } = await import('../../functions/par/handler.ts');
    expect(harness.calls()).toEqual(before);
    const answer = await invoke(handler, { body: validIntent() });
    expect(answer.status).toBe(201);
  });

  it('in Lambda, loads the kid, discovery and secret during INIT: the first request makes only its two calls', async () => {
    vi.resetModules();
    process.env = { ...saved, ...harness.env, AWS_LAMBDA_FUNCTION_NAME: 'par' };
    const before = harness.calls();
    const { handler } = await import('../../functions/par/handler.ts');
    const initialised = harness.calls();
    // GetPublicKey, the discovery document, GetSecretValue.
    expect([initialised.kms - before.kms, initialised.as - before.as, initialised.secretsManager - before.secretsManager]).toEqual([1, 1, 1]);
    expect((await invoke(handler, { body: validIntent() })).status).toBe(201);
    const after = harness.calls();
    expect([after.kms - initialised.kms, after.as - initialised.as, after.secretsManager - initialised.secretsManager]).toEqual([1, 1, 0]);
  });

  it('in Lambda, an upstream that is down during INIT delays nothing and poisons nothing', async () => {
    vi.resetModules();
    process.env = { ...saved, ...harness.env, AWS_LAMBDA_FUNCTION_NAME: 'par' };
    harness.secretsManager.setFault(() => ({ kind: 'error', type: 'InternalServiceError', status: 500 }));
    const { handler } = await import('../../functions/par/handler.ts');
    harness.secretsManager.setFault(undefined);
    expect((await invoke(handler, { body: validIntent() })).status).toBe(201);
  });
});
