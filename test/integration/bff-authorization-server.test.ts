import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthorizationServer } from '../../functions/adapters/authorization-server.ts';
import { secretsManagerClient } from '../../functions/adapters/aws-clients.ts';
import { clientSecretAuthentication, type ClientAuthentication } from '../../functions/adapters/client-authentication.ts';
import { ClientSecretSource } from '../../functions/adapters/client-secret.ts';
import { endSessionUrl } from '../../functions/adapters/end-session.ts';
import { revokeToken } from '../../functions/adapters/revocation.ts';
import { requestTokens, requestTokenSet } from '../../functions/adapters/token-endpoint.ts';
import { Deadline } from '../../functions/core/deadline.ts';
import { CLIENT_ID, CLIENT_SECRET, startHarness, type Harness } from '../helpers/harness.ts';
import type { Reply } from '../helpers/scripted-authorization-server.ts';
import { refusal } from '../helpers/refusal.ts';

/**
 * The bff's calls to the authorization server other than the push: the code exchange with its
 * token response parsed (RFC 6749 5.1), revocation (RFC 7009) and the end-session URL (RP-Initiated
 * Logout 1.0), against a scripted server on 127.0.0.1, with the client secret read from the local
 * Secrets Manager through the real SDK.
 */
let harness: Harness;
let auth: ClientAuthentication;

beforeAll(async () => {
  harness = await startHarness();
  auth = clientSecretAuthentication(
    'client_secret_post',
    CLIENT_ID,
    new ClientSecretSource(secretsManagerClient({ timeoutMs: 1000 }), harness.secretArn),
  );
});
afterAll(() => harness.close());
beforeEach(() => harness.as.reset());

const server = () => new AuthorizationServer(harness.as.issuer, {});
const deadline = () => Deadline.start(Date.now, 3000, 1000);
const CODE = { grant_type: 'authorization_code', code: 'the-code', code_verifier: 'v'.repeat(43), redirect_uri: 'https://bff.example/callback' } as const;

function discovery(extra: Record<string, unknown>): void {
  harness.as.script('discovery', () => ({
    status: 200,
    body: { issuer: harness.as.issuer, token_endpoint: `${harness.as.issuer}oauth/token`, ...extra },
  }));
}

describe('requestTokenSet: the code exchange, parsed (RFC 6749 4.1.3, 5.1)', () => {
  const answer = (body: Record<string, unknown>) => harness.as.script('token', () => ({ status: 200, body }));

  it('returns the tokens of a 5.1 response, token_type normalised to Bearer, as the confidential client', async () => {
    answer({ access_token: 'at', token_type: 'bearer', expires_in: 300, refresh_token: 'rt', id_token: 'it', scope: 'openid', extra: 1 });
    const tokens = await requestTokenSet(server(), auth, CLIENT_ID, CODE, deadline());
    expect(tokens).toEqual({ access_token: 'at', token_type: 'Bearer', expires_in: 300, refresh_token: 'rt', id_token: 'it', scope: 'openid' });
    const form = harness.as.requests.find((r) => r.endpoint === 'token')!.form;
    expect(Object.fromEntries(form)).toEqual({ ...CODE, client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
  });

  it('leaves out what the response does not carry (5.1: expires_in, refresh_token, scope are optional)', async () => {
    answer({ access_token: 'at', token_type: 'Bearer' });
    await expect(requestTokenSet(server(), auth, CLIENT_ID, CODE, deadline())).resolves.toEqual({ access_token: 'at', token_type: 'Bearer' });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a DPoP token_type (RFC 9449 5)', { token_type: 'DPoP' }, /token_type other than Bearer/],
    ['no token_type', { token_type: undefined }, /without a token/],
    ['expires_in as a string', { expires_in: '300' }, /expires_in/],
    ['expires_in 0', { expires_in: 0 }, /expires_in/],
    ['a fractional expires_in', { expires_in: 1.5 }, /expires_in/],
    ['a negative expires_in', { expires_in: -1 }, /expires_in/],
    ['an empty access_token', { access_token: '' }, /access_token/],
    ['a refresh_token that is not a string', { refresh_token: 7 }, /refresh_token/],
    ['an id_token that is not a string', { id_token: null }, /id_token/],
  ])('refuses a 200 with %s: 502 server_error (5.1)', async (_name, override, description) => {
    answer({ access_token: 'at', token_type: 'Bearer', ...override });
    const error = await refusal(requestTokenSet(server(), auth, CLIENT_ID, CODE, deadline()));
    expect({ status: error.status, error: error.error }).toEqual({ status: 502, error: 'server_error' });
    expect(error.description).toMatch(description);
  });

  it('passes the AS refusal on as requestTokens does (RFC 6749 5.2 invalid_grant: 400)', async () => {
    harness.as.script('token', () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'code expired' } }));
    const error = await refusal(requestTokenSet(server(), auth, CLIENT_ID, CODE, deadline()));
    expect({ status: error.status, error: error.error, description: error.description }).toEqual({
      status: 400,
      error: 'invalid_grant',
      description: 'code expired',
    });
  });

  it('relay keeps the response byte for byte (requestTokens json unchanged)', async () => {
    const raw = '{ "token_type":"Bearer" ,"access_token":"at","x":[1,2] }';
    harness.as.script('token', () => ({ status: 200, body: raw, headers: { 'content-type': 'application/json' } }));
    expect((await requestTokens(server(), auth, CLIENT_ID, CODE, deadline())).json).toBe(raw);
  });
});

describe('revokeToken (RFC 7009)', () => {
  it('2.1: posts token and token_type_hint with the client authentication; 2.2: 200 is revoked', async () => {
    await expect(revokeToken(server(), auth, CLIENT_ID, 'the-refresh-token', 'refresh_token', deadline())).resolves.toBe(true);
    const request = harness.as.requests.find((r) => r.endpoint === 'revocation')!;
    expect(Object.fromEntries(request.form)).toEqual({
      token: 'the-refresh-token',
      token_type_hint: 'refresh_token',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    });
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('2.2: a 200 with any body (the server knew no such token) is done', async () => {
    harness.as.script('revocation', () => ({ status: 200, body: { whatever: true } }));
    await expect(revokeToken(server(), auth, CLIENT_ID, 'unknown', 'access_token', deadline())).resolves.toBe(true);
  });

  it('no revocation_endpoint in discovery: false, and nothing is sent', async () => {
    discovery({});
    await expect(revokeToken(server(), auth, CLIENT_ID, 'rt', 'refresh_token', deadline())).resolves.toBe(false);
    expect(harness.as.count('revocation')).toBe(0);
  });

  it.each<[string, Reply, { status: number; error: string; retryAfter?: number }]>([
    ['2.2.1 unsupported_token_type', { status: 400, body: { error: 'unsupported_token_type' } }, { status: 502, error: 'unsupported_token_type' }],
    ['2.2.1 503 with Retry-After', { status: 503, body: '', headers: { 'retry-after': '7' } }, { status: 503, error: 'temporarily_unavailable', retryAfter: 7 }],
    ['429', { status: 429, body: '' }, { status: 503, error: 'temporarily_unavailable', retryAfter: 1 }],
    ['a 500', { status: 500, body: 'oops' }, { status: 502, error: 'server_error' }],
    ['a reset', { reset: true }, { status: 502, error: 'server_error' }],
    ['a hang', { hang: true }, { status: 504, error: 'temporarily_unavailable' }],
  ])('%s: a typed error without the token', async (_name, reply, expected) => {
    harness.as.script('revocation', () => reply);
    const error = await refusal(revokeToken(server(), auth, CLIENT_ID, 'secret-refresh-token', 'refresh_token', Deadline.start(Date.now, 1500, 500)));
    expect({ status: error.status, error: error.error, ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }) }).toEqual(expected);
    expect(JSON.stringify(error.toJSON())).not.toContain('secret-refresh-token');
  });

  it('invalid_client after a rotation: one more attempt with the new secret, as at the token endpoint', async () => {
    await revokeToken(server(), auth, CLIENT_ID, 'rt', 'refresh_token', deadline());
    harness.secretsManager.rotate('par/client', JSON.stringify({ client_secret: 'the-rotated-secret-Xy7' }));
    harness.as.script('revocation', (call) => (call === 2 ? { status: 401, body: { error: 'invalid_client' } } : undefined));
    await expect(revokeToken(server(), auth, CLIENT_ID, 'rt', 'refresh_token', deadline())).resolves.toBe(true);
    const secrets = harness.as.requests.filter((r) => r.endpoint === 'revocation').map((r) => r.form.get('client_secret'));
    expect(secrets).toEqual([CLIENT_SECRET, CLIENT_SECRET, 'the-rotated-secret-Xy7']);
  });
});

describe('endSessionUrl (OpenID Connect RP-Initiated Logout 1.0 2)', () => {
  it('the end_session_endpoint with client_id and post_logout_redirect_uri, its own query kept, no token', async () => {
    discovery({ end_session_endpoint: `${harness.as.issuer}logout?tenant=t1` });
    const url = new URL((await endSessionUrl(server(), CLIENT_ID, 'https://app.example/bye', deadline()))!);
    expect(`${url.origin}${url.pathname}`).toBe(`${harness.as.issuer}logout`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ tenant: 't1', client_id: CLIENT_ID, post_logout_redirect_uri: 'https://app.example/bye' });
  });

  it('without a post_logout_redirect_uri: client_id only', async () => {
    discovery({ end_session_endpoint: `${harness.as.issuer}logout` });
    expect(await endSessionUrl(server(), CLIENT_ID, undefined, deadline())).toBe(`${harness.as.issuer}logout?client_id=${CLIENT_ID}`);
  });

  it('no end_session_endpoint: undefined, not an error', async () => {
    discovery({});
    await expect(endSessionUrl(server(), CLIENT_ID, 'https://app.example/bye', deadline())).resolves.toBeUndefined();
  });

  it('a malformed end_session_endpoint is a misconfigured server: 500 naming the field', async () => {
    discovery({ end_session_endpoint: 'http://evil.example/logout' });
    const error = await refusal(endSessionUrl(server(), CLIENT_ID, undefined, deadline()));
    expect({ status: error.status, description: error.description }).toMatchObject({ status: 500, description: expect.stringMatching(/end_session_endpoint/) });
  });
});
