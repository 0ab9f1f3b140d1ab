import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaHandler } from '../../functions/app/lambda.ts';
import { parAppFromEnv } from '../../functions/par/wiring.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { apiEvent, lambdaContext } from '../helpers/events.ts';

/**
 * Issue 16: a request from another Origin to the local stack (the demo opened at 127.0.0.1 while the
 * stack allows localhost) is refused as Lambda refuses it, 403 access_denied, and the local stack's
 * answer names the allowed Origin. Lambda's own answer names none: it would tell any caller which
 * origins a deployment trusts.
 */
const OTHER = 'http://127.0.0.1:1';
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ mode: 'relay' });
}, 60_000);
afterAll(() => stack.close());

const post = (origin: string) =>
  fetch(`${stack.proxyUrl}/par`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: '{}' });

describe('a refused Origin', () => {
  it('in the local stack: 403 access_denied whose description names the allowed Origin and where to open the demo', async () => {
    const answer = await post(OTHER);
    expect(answer.status).toBe(403);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    const body = (await answer.json()) as { error: string; error_description: string };
    expect(body.error).toBe('access_denied');
    expect(body.error_description).toBe(
      `the Origin is not allowed (local stack: the allowed Origin is ${stack.proxyUrl}: open the demo at ${stack.proxyUrl}/)`,
    );
  });

  it('in Lambda, the same function with the same settings: names no allowed Origin', async () => {
    const handler = lambdaHandler(parAppFromEnv(stack.env, Date.now, () => undefined));
    const answer = await handler(apiEvent({ headers: { origin: OTHER, 'content-type': 'application/json' }, body: '{}' }), lambdaContext);
    const result = answer as { statusCode: number; body: string };
    expect(result.statusCode).toBe(403);
    expect(JSON.parse(result.body)).toEqual({ error: 'access_denied', error_description: 'the Origin is not allowed' });
    expect(result.body).not.toContain(stack.proxyUrl);
  });

  it('an allowed Origin\'s refusal for another reason is left as the function wrote it', async () => {
    const answer = await post(stack.proxyUrl);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(await answer.json())).not.toContain('local stack');
  });
});
