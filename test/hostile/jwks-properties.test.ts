import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaHandler, type ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { jwksAppFromEnv } from '../../functions/jwks/wiring.ts';
import { startHarness, type Answer, type Harness } from '../helpers/harness.ts';
import { anyString, expectRefusal, fcOptions, headerName, isMalformedHeaderValue, recorded, send } from '../helpers/hostile.ts';
import { createLeakCollector } from '../helpers/leak-collector.ts';

/**
 * GET /.well-known/jwks.json is public and unauthenticated: whatever reaches it, it answers the keys
 * (GET), a 404 (other methods), or a 400 (malformed headers), never a 5xx, never a stack trace, and
 * without asking KMS again once the key is cached.
 */
const PATH = '/.well-known/jwks.json';
let harness: Harness;
let jwks: ApiGatewayHandler;
const leaks = createLeakCollector('keep');
let stopWatching: () => void = () => {};

beforeAll(async () => {
  harness = await startHarness();
  jwks = lambdaHandler(jwksAppFromEnv({ ...harness.env }));
  const stop = leaks.watch();
  const warm = await get({ method: 'GET' }).finally(stop);
  expect(warm.status).toBe(200);
});
afterAll(() => harness?.close());
beforeEach(() => {
  stopWatching = leaks.watch();
});
afterEach(() => stopWatching());

async function get(request: { method: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return recorded(leaks, await send(jwks, { path: PATH, ...request }));
}

describe('GET /.well-known/jwks.json under hostile input', () => {
  it('any method, headers and body (no body on GET and HEAD): the keys, 404 or 400, never a 5xx, never another KMS call', async () => {
    const requests = fc.record({
      method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      headers: fc.dictionary(headerName(), fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 30 }), anyString(30)), { maxKeys: 3 }),
      body: fc.option(anyString(200), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(requests, async ({ method, headers, body }) => {
        const before = harness.calls();
        const withBody = method === 'GET' || method === 'HEAD' ? undefined : body;
        const answer = await get({ method, headers, ...(withBody === undefined ? {} : { body: withBody }) });
        expect(answer.status).toBeLessThan(500);
        expect(harness.calls().kms).toBe(before.kms);
        if (Object.entries(headers).some(([, v]) => isMalformedHeaderValue(v))) {
          // A HEAD answer has no body (RFC 9110 9.3.2): the status alone says it.
          if (method === 'HEAD') expect(answer.status).toBe(400);
          else expectRefusal(answer, 400);
        } else if (method === 'GET' || method === 'HEAD') {
          expect(answer.status).toBe(200);
          expect(answer.headers['cache-control']).toBe('public, max-age=300');
          if (method === 'GET') expect((answer.body.keys as unknown[]).length).toBe(1);
        } else {
          expectRefusal(answer, 404);
        }
      }),
      fcOptions(200),
    );
  });

  it(
    'a GET with a body is answered with the keys (the body ignored), and no stack trace is logged',
    async () => {
      const own = createLeakCollector('keep');
      const stop = own.watch();
      const answer = await send(jwks, { method: 'GET', path: PATH, body: 'x' }).finally(stop);
      own.answer(answer);
      expect(answer.status).toBe(200);
      expect(own.report().findings).toEqual([]);
    },
  );

  it('no leaks: no stack trace in anything this file logged or answered', () => {
    const report = leaks.report();
    expect(report.requestLogLines).toBeGreaterThan(80);
    expect(report.findings).toEqual([]);
  });
});
