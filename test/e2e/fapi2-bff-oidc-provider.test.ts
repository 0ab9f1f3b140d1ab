import { describe, expect, it } from 'vitest';
import { BffBrowser } from '../helpers/bff-browser.ts';
import { watchedStack } from '../helpers/watched-stack.ts';

/**
 * FAPI 2.0 end to end in bff mode: the local oidc-provider as a FAPI 2.0 authorization server
 * (local/fapi2.ts) with DPoP nonces required, the proxy with SECURITY_PROFILE=fapi2 (DPoP implied),
 * which asks for JARM responses (response_mode=jwt) and verifies them; every plain authorization
 * response must carry iss (RFC 9207). The JARM claim checks against forged JWTs:
 * test/integration/jarm.test.ts; DPoP at the token endpoint and the API: bff-dpop-oidc-provider.test.ts.
 */
const watched = watchedStack({ mode: 'bff', profile: 'fapi2' });
const { leaks } = watched;
const stack = watched.current;

const payloadOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

/** A bff login up to the authorization server's redirect to /callback (not followed). */
async function authorized(s = stack()) {
  const b = new BffBrowser(s.proxyUrl, '', (secret) => leaks.secret(secret));
  const started = await b.startLogin();
  expect(started.status, started.text).toBe(201);
  const callbackUrl = await b.authorize(String(started.json?.authorization_url));
  const response = callbackUrl.searchParams.get('response');
  if (response !== null) leaks.secret(String(payloadOf(response).code));
  return { b, callbackUrl, response };
}

/** Where a failed /callback sent the browser: its error, and no code anywhere in the URL. */
async function refused(b: BffBrowser, callbackUrl: URL, code?: string): Promise<string | null> {
  const answer = await b.callback(callbackUrl);
  expect(answer.status).toBe(303);
  const location = String(answer.headers.get('location'));
  if (code !== undefined) expect(location).not.toContain(code);
  expect(location).not.toMatch(/eyJ/);
  expect(b.cookies.has('__Host-bff-session')).toBe(false);
  return new URL(location).searchParams.get('error');
}

describe('bff mode under the profile: JARM (response_mode=jwt)', () => {
  it('a login through /par and /callback completes: one signed response JWT, verified, then the code redeemed', async () => {
    const { b, callbackUrl, response } = await authorized();
    expect([...callbackUrl.searchParams.keys()]).toEqual(['response']);
    const [header] = response!.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString()).alg).toBe('PS256');
    expect(payloadOf(response!)).toMatchObject({ iss: stack().issuer, aud: stack().clientId });
    const answer = await b.callback(callbackUrl);
    expect(answer.headers.get('location')).toBe(`${stack().proxyUrl}/`);
    expect((await b.request('/session')).json).toMatchObject({ authenticated: true, claims: { sub: 'katherine.johnson', iss: stack().issuer } });
  });

  it('refuses a forged signature and an unsigned (alg none) response, and the login can still complete with the real one', async () => {
    const { b, callbackUrl, response } = await authorized();
    const [header, payload, signature] = response!.split('.') as [string, string, string];
    const code = String(payloadOf(response!).code);
    const forged = new URL(callbackUrl);
    forged.searchParams.set('response', `${header}.${payload}.${signature.slice(0, -8)}${signature.slice(-8) === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA'}`);
    expect(await refused(b, forged, code)).toBe('invalid_authorization_response');
    const unsigned = new URL(callbackUrl);
    unsigned.searchParams.set('response', `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`);
    expect(await refused(b, unsigned, code)).toBe('invalid_authorization_response');
    expect((await b.callback(callbackUrl)).headers.get('location')).toBe(`${stack().proxyUrl}/`);
  });

  it('refuses a plain code beside the response, or instead of it (the query a JARM client must not take)', async () => {
    const { b, callbackUrl, response } = await authorized();
    const claims = payloadOf(response!);
    const beside = new URL(callbackUrl);
    beside.searchParams.set('code', String(claims.code));
    expect(await refused(b, beside, String(claims.code))).toBe('invalid_request');
    const instead = new URL(callbackUrl.pathname, callbackUrl);
    for (const name of ['code', 'state', 'iss']) instead.searchParams.set(name, String(claims[name]));
    expect(await refused(b, instead, String(claims.code))).toBe('invalid_request');
  });
});

describe('bff mode under the profile: iss on a plain response (RFC 9207 2.4)', () => {
  it('refuses a response without iss even when no metadata advertises it, and a mix-up; without the profile a missing iss passes', async () => {
    const endpoints = { RESPONSE_MODE: 'query', PAR_ENDPOINT: `${stack().issuer}/request`, AUTHORIZATION_ENDPOINT: `${stack().issuer}/auth` };
    try {
      stack().redeploy(endpoints);
      const missing = await authorized();
      expect(missing.callbackUrl.searchParams.get('iss')).toBe(stack().issuer);
      missing.callbackUrl.searchParams.delete('iss');
      expect(await refused(missing.b, missing.callbackUrl, missing.callbackUrl.searchParams.get('code')!)).toBe('invalid_issuer');
      const mixedUp = await authorized();
      mixedUp.callbackUrl.searchParams.set('iss', 'https://attacker.example');
      expect(await refused(mixedUp.b, mixedUp.callbackUrl, mixedUp.callbackUrl.searchParams.get('code')!)).toBe('invalid_issuer');

      stack().redeploy({ ...endpoints, SECURITY_PROFILE: 'none' });
      const allowed = await authorized();
      allowed.callbackUrl.searchParams.delete('iss');
      expect((await allowed.b.callback(allowed.callbackUrl)).headers.get('location')).toBe(`${stack().proxyUrl}/`);
    } finally {
      stack().redeploy({});
    }
  });
});

watched.expectNoLeaks(10);

