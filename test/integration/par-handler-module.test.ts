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

  it('exports a handler that answers API Gateway v2 events', async () => {
    vi.resetModules();
    process.env = { ...saved, ...harness.env };
    const { handler } = await import('../../functions/par/handler.ts');
    const answer = await invoke(handler, { body: validIntent() });
    expect(answer.status).toBe(201);
  });
});
