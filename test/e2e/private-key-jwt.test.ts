import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { CLIENT_ASSERTION_TYPE } from '../../functions/adapters/client-authentication.ts';
import { LOCAL_ASSERTION_KEY_ALIAS, LOCAL_KEY_ALIAS, publicJwk, startLocalStack, type LocalStack } from '../../local/stack.ts';
import { loginThroughProxy } from '../helpers/login-flow.ts';

/**
 * No shared secret at all: private_key_jwt client assertions (RFC 7523 2.2 and 3, OpenID Connect
 * Core 9) signed by KMS, against oidc-provider with PAR, private_key_jwt and signed request
 * objects all required.
 */
interface Received {
  readonly endpoint: 'par' | 'token';
  readonly body: Record<string, unknown>;
}

function record(stack: LocalStack): Received[] {
  const received: Received[] = [];
  stack.authorizationServer.provider.on('pushed_authorization_request.success', (ctx) => {
    received.push({ endpoint: 'par', body: { ...(ctx.oidc.body as Record<string, unknown>) } });
  });
  stack.authorizationServer.provider.on('grant.success', (ctx) => {
    received.push({ endpoint: 'token', body: { ...(ctx.oidc.body as Record<string, unknown>) } });
  });
  return received;
}

describe.each([
  ['one key for request objects and assertions', false],
  ['a separate assertion key (CLIENT_ASSERTION_KMS_KEY_ID)', true],
])('private_key_jwt with %s', (_name, separateAssertionKey) => {
  let stack: LocalStack;
  let received: Received[];
  beforeAll(async () => {
    stack = await startLocalStack({ authMethod: 'private_key_jwt', separateAssertionKey });
    received = record(stack);
  });
  afterAll(() => stack.close());

  it('pushes and redeems with KMS-signed client assertions, never touching Secrets Manager', async () => {
    const { idTokenClaims } = await loginThroughProxy(stack);
    expect(idTokenClaims.sub).toBe('katherine.johnson');
    expect(stack.secretsManager.totalCalls()).toBe(0);
    // Each kid read once per function and key: par shares its signer when both purposes use one key.
    expect(stack.kms.calls.get('GetPublicKey')).toBe(separateAssertionKey ? 3 : 2);

    const requestKid = (await publicJwk(stack.kms.publicKeyOf(LOCAL_KEY_ALIAS), 'PS256')).kid;
    const assertionKid = separateAssertionKey
      ? (await publicJwk(stack.kms.publicKeyOf(LOCAL_ASSERTION_KEY_ALIAS), 'PS256')).kid
      : requestKid;
    expect(received.map((r) => r.endpoint)).toEqual(['par', 'token']);
    const assertions = received.map((r) => String(r.body.client_assertion));
    for (const { body } of received) {
      expect(body.client_assertion_type).toBe(CLIENT_ASSERTION_TYPE);
      expect(body.client_secret).toBeUndefined();
    }
    for (const assertion of assertions) {
      expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'PS256', typ: 'JWT', kid: assertionKid });
      const claims = decodeJwt(assertion);
      expect(claims).toMatchObject({ iss: stack.clientId, sub: stack.clientId, aud: stack.issuer });
      expect(claims.exp! - claims.iat!).toBe(60);
    }
    // A unique jti per assertion (RFC 7523 3, item 7).
    expect(new Set(assertions.map((a) => decodeJwt(a).jti)).size).toBe(assertions.length);
    expect(decodeProtectedHeader(String(received[0]!.body.request)).kid).toBe(requestKid);
  });

  it('publishes every key it signs with in the JWKS', async () => {
    const response = await fetch(`${stack.proxyUrl}/.well-known/jwks.json`);
    const { keys } = (await response.json()) as { keys: { kid: string }[] };
    const expected = [await publicJwk(stack.kms.publicKeyOf(LOCAL_KEY_ALIAS), 'PS256')];
    if (separateAssertionKey) expected.push(await publicJwk(stack.kms.publicKeyOf(LOCAL_ASSERTION_KEY_ALIAS), 'PS256'));
    expect(keys).toEqual(expected);
  });
});

describe('rich authorization requests (RFC 9396)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ authMethod: 'private_key_jwt', authorizationDetailsTypes: ['payment_initiation'] });
  });
  afterAll(() => stack.close());

  const detail = {
    type: 'payment_initiation',
    instructedAmount: { currency: 'EUR', amount: '123.50' },
    creditorName: 'Merchant A',
    creditorAccount: { iban: 'DE02100100109307118603' },
  };

  it('carries authorization_details into the request object as a JSON array, and the grant honours it', async () => {
    const received = record(stack);
    const { tokens } = await loginThroughProxy(stack, { authorization_details: [detail] });
    expect(decodeJwt(String(received[0]!.body.request)).authorization_details).toEqual([detail]);
    // RFC 9396 7: the token response names the details the access token carries.
    expect(tokens.authorization_details).toEqual([detail]);
  });

  it('refuses a type that is not allowed, with 400 and no upstream call', async () => {
    const before = stack.kms.totalCalls();
    const response = await fetch(`${stack.proxyUrl}/par`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: stack.proxyUrl },
      body: JSON.stringify({
        redirect_uri: stack.redirectUri,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        state: 's',
        authorization_details: [{ type: 'account_information' }],
      }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: 'authorization_details has a type that is not allowed',
    });
    expect(stack.kms.totalCalls()).toBe(before);
  });
});
