import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaHandler } from '../../functions/app/lambda.ts';
import { parAppFromEnv } from '../../functions/par/wiring.ts';
import { tokenAppFromEnv } from '../../functions/token/wiring.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { CODE_CHALLENGE } from '../helpers/events.ts';
import { invoke, type Answer } from '../helpers/harness.ts';
import { captureOutput } from '../helpers/output.ts';

/**
 * Issue 10 against a real oidc-provider: a caller's mistake is a 400 counted as Refused, never a 502
 * that pages on-call; what the proxy can tell is wrong never costs a KMS Sign or a push.
 */
let stack: LocalStack;
let par: ReturnType<typeof lambdaHandler>;
let token: ReturnType<typeof lambdaHandler>;
let pushes = 0;

beforeAll(async () => {
  stack = await startLocalStack();
  par = lambdaHandler(parAppFromEnv(stack.env));
  token = lambdaHandler(tokenAppFromEnv(stack.env));
  const counted = () => {
    pushes += 1;
  };
  stack.authorizationServer.provider.on('pushed_authorization_request.success', counted);
  stack.authorizationServer.provider.on('pushed_authorization_request.error', counted);
});
afterAll(() => stack.close());

const intent = (extra: Record<string, unknown> = {}) => ({
  redirect_uri: stack.redirectUri,
  code_challenge: CODE_CHALLENGE,
  code_challenge_method: 'S256',
  state: 'state-1',
  nonce: 'nonce-1',
  scope: 'openid',
  ...extra,
});

/** One request, with its log line and the KMS Signs and pushes it cost. */
async function call(handler: typeof par, path: string, body: unknown) {
  const signs = stack.kms.calls.get('Sign') ?? 0;
  const pushed = pushes;
  const output = captureOutput();
  const answer: Answer = await invoke(handler, { path, headers: { origin: stack.proxyUrl }, body }).finally(() => output.restore());
  const line = output.lines().find((l) => l.message === 'request');
  return { answer, line, signs: (stack.kms.calls.get('Sign') ?? 0) - signs, pushes: pushes - pushed };
}

describe('caller mistakes refused by oidc-provider (issue 10, part 1)', () => {
  it('an unknown refresh token at /token: 400 invalid_grant (RFC 6749 5.2), WARN, Refused, not an upstream failure', async () => {
    const { answer, line } = await call(token, '/token', { grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token-of-this-server' });
    expect(answer.status, answer.raw).toBe(400);
    expect(answer.body).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
    expect(line).toMatchObject({ level: 'WARN', status: 400, error: 'invalid_grant', Refused: 1, Reason: 'invalid_grant' });
    expect(line).not.toHaveProperty('UpstreamFailures');
  });

  it('response_mode=jwt where the server has no JARM: its 400 unsupported_response_mode is passed on as 400, Refused', async () => {
    const { answer, line, signs, pushes } = await call(par, '/par', intent({ response_mode: 'jwt' }));
    expect(answer.status, answer.raw).toBe(400);
    expect(answer.body.error).toBe('unsupported_response_mode');
    expect(line).toMatchObject({ level: 'WARN', Refused: 1, Reason: 'unsupported_response_mode' });
    expect(line).not.toHaveProperty('UpstreamFailures');
    // The proxy cannot know what a server supports: this one was signed and pushed.
    expect([signs, pushes]).toEqual([1, 1]);
  });
});

describe('intents the proxy refuses itself: no KMS Sign, no push (issue 10, parts 1 and 4)', () => {
  it.each([
    ['prompt=bogus (OpenID Connect Core 3.1.2.1)', { prompt: 'bogus' }, /^prompt must be /],
    ['prompt=none without ALLOW_PROMPT_NONE', { prompt: 'none' }, /^prompt none is not allowed/],
    ['response_mode=fragment', { response_mode: 'fragment' }, /^response_mode must be /],
    ['max_age without openid in scope', { scope: 'profile', max_age: 60 }, /^max_age needs openid in scope$/],
    ['max_age above 2^31 - 1', { max_age: 2 ** 31 }, /^max_age must be at most 2147483647$/],
    ['a right-to-left override in login_hint', { login_hint: 'admin\u202emoc.elpmaxe@' }, /^login_hint must not contain control/],
    ['a lone surrogate in state', { state: 'x\ud800' }, /^state must be well-formed Unicode$/],
  ])('%s: 400 invalid_request naming the field', async (_name, extra, description) => {
    const { answer, line, signs, pushes } = await call(par, '/par', intent(extra));
    expect(answer.status, answer.raw).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
    expect(answer.body.error_description).toMatch(description);
    expect(line).toMatchObject({ Refused: 1, Reason: 'invalid_request' });
    expect([signs, pushes]).toEqual([0, 0]);
  });

  it('prompt=none with ALLOW_PROMPT_NONE=true is signed and accepted by oidc-provider', async () => {
    const allowing = lambdaHandler(parAppFromEnv({ ...stack.env, ALLOW_PROMPT_NONE: 'true' }));
    const { answer, signs, pushes } = await call(allowing, '/par', intent({ prompt: 'none' }));
    expect(answer.status, answer.raw).toBe(201);
    expect(pushes).toBe(1);
    expect(signs).toBe(1);
  });
});
