import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { lambdaHandler } from '../../functions/app/lambda.ts';
import { parAppFromEnv } from '../../functions/par/wiring.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { openLoginPage } from '../helpers/browser-session.ts';
import { apiEvent, CODE_CHALLENGE, lambdaContext } from '../helpers/events.ts';
import { captureOutput } from '../helpers/output.ts';

/**
 * The whole path against a real authorization server: oidc-provider with PAR (RFC 9126) and signed
 * request objects (RFC 9101) required, reached through the real Lambda adapter, the real AWS SDK and
 * the wire-level KMS and Secrets Manager stand-ins.
 */
describe.each([
  ['PS256', 'client_secret_post'],
  ['RS256', 'client_secret_post'],
  ['RS384', 'client_secret_post'],
  ['PS256', 'client_secret_basic'],
] as const)('POST /par with %s and %s against oidc-provider', (alg, authMethod) => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ signingAlg: alg, authMethod });
  });
  afterAll(() => stack.close());

  it('is accepted, and its authorization_url leads to the login page', async () => {
    const handler = lambdaHandler(parAppFromEnv(stack.env));
    const pushed: string[] = [];
    const authentication: string[] = [];
    stack.authorizationServer.provider.on('pushed_authorization_request.success', (ctx) => {
      const body = ctx.oidc.body as Record<string, unknown>;
      pushed.push(String(body.request));
      authentication.push(body.client_secret !== undefined ? 'client_secret_post' : String(ctx.headers.authorization).split(' ')[0]!);
    });
    const output = captureOutput();
    const result = await handler(
      apiEvent({
        headers: { 'content-type': 'application/json', origin: stack.proxyUrl },
        body: JSON.stringify({
          redirect_uri: stack.redirectUri,
          code_challenge: CODE_CHALLENGE,
          code_challenge_method: 'S256',
          state: 'state-123',
          nonce: 'nonce-123',
          scope: 'openid profile',
        }),
      }),
      lambdaContext,
    ).finally(() => output.restore());
    if (typeof result === 'string') throw new Error('unexpected string result');
    expect(result.statusCode).toBe(201);
    expect(result.headers?.['cache-control']).toBe('no-store');
    expect(result.headers?.['access-control-allow-origin']).toBe(stack.proxyUrl);
    const body = JSON.parse(result.body ?? '{}') as Record<string, unknown>;
    expect(body.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(body.expires_in).toBeGreaterThan(0);
    // RFC 9207 3: oidc-provider advertises iss in its discovery document; the SPA is told so.
    expect(body.issuer).toBe(stack.issuer);
    expect(body.authorization_response_iss_parameter_supported).toBe(true);

    // RFC 9126 4: the authorization URL carries only client_id and request_uri.
    const url = new URL(body.authorization_url as string);
    expect(`${url.origin}${url.pathname}`).toBe(`${stack.issuer}/auth`);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('request_uri')).toBe(body.request_uri);

    const page = await openLoginPage(url.href);
    expect(page.status).toBe(200);
    expect(page.url).toContain('/interaction/');
    expect(page.html).toMatch(/name="login"/);

    // The client authenticated as configured (RFC 6749 2.3.1).
    expect(authentication).toEqual([authMethod === 'client_secret_post' ? 'client_secret_post' : 'Basic']);

    // What oidc-provider received: a request object that follows the seed's rules.
    expect(pushed).toHaveLength(1);
    const header = decodeProtectedHeader(pushed[0]!);
    expect(header).toEqual({ alg, typ: 'oauth-authz-req+jwt', kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const claims = decodeJwt(pushed[0]!);
    expect(claims).toMatchObject({
      iss: stack.clientId,
      aud: stack.issuer,
      client_id: stack.clientId,
      response_type: 'code',
      redirect_uri: stack.redirectUri,
      state: 'state-123',
      nonce: 'nonce-123',
      code_challenge: CODE_CHALLENGE,
    });
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(claims.nbf).toBeLessThan(claims.iat!);
    expect(JSON.stringify(body)).not.toContain(pushed[0]);
    expect(output.text()).not.toContain(pushed[0]);

    // Warm requests: exactly one KMS call (Sign) per request; the kid came from one GetPublicKey.
    expect(stack.kms.calls.get('Sign')).toBe(1);
    expect(stack.kms.calls.get('GetPublicKey')).toBe(1);
    const log = output.lines().find((line) => line.message === 'request');
    expect(log).toMatchObject({ requestId: 'test-request-id', route: '/par', status: 201, success: 'Pushed' });
    expect(output.text()).not.toContain(stack.clientSecret);
  });
});
