import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Hono, type Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { CompactEncrypt, compactDecrypt, createLocalJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { floorClientSecret, floorPusher } from './par-floor-app.ts';
import { rawPost, rawRequest } from './raw-post.ts';

/**
 * The floor of the bff function: hono's aws-lambda adapter, a bare SecretsManagerClient (the client
 * secret and the session key, each read once), jose for the sealed cookies (compact JWE, dir +
 * A256GCM, the key derived with HKDF as the bff derives it, so that the floor opens the very cookies
 * the bff opens) and for the ID token (jwtVerify against the JWKS, read once), node:http for every
 * call (as the bff: fetch would load undici's client and cost more CPU per request), par-floor's
 * KMS signing and push. The routes do only their essential work, with fixed endpoints: no validation
 * beyond what opening a cookie needs, no timeouts, no telemetry, no error answers that matter.
 */
// The same derivation as functions/adapters/session-keys.ts (RFC 5869 HKDF-SHA256).
const HKDF_SALT = 'par-proxy bff v1';
const HKDF_INFO = { session: 'par-proxy session cookie v1', login: 'par-proxy login cookie v1' } as const;
type Purpose = keyof typeof HKDF_INFO;

const SESSION_COOKIE = '__Host-bff-session';
const LOGIN_COOKIE = '__Host-bff-login.';
const NO_STORE = { 'Cache-Control': 'no-store' } as const;

interface Session {
  readonly exp: number;
  readonly claims: Record<string, unknown>;
  readonly access_token: string;
  readonly expires_at: number;
  readonly refresh_token?: string;
}

interface Login {
  readonly state: string;
  readonly nonce: string;
  readonly code_verifier: string;
  readonly exp: number;
}

interface Tokens {
  readonly access_token: string;
  readonly expires_in?: number;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly scope?: string;
}

export function bffFloorApp(env: NodeJS.ProcessEnv = process.env): Hono {
  const secrets = new SecretsManagerClient({});
  const clientSecret = floorClientSecret(env, secrets);
  const push = floorPusher(env, clientSecret);
  const clientId = env.CLIENT_ID ?? '';
  const tokenEndpoint = new URL(env.TOKEN_ENDPOINT ?? `${env.ISSUER}oauth/token`);
  const upstreams = JSON.parse(env.API_UPSTREAMS ?? '{}') as Record<string, string>;
  const now = () => Math.floor(Date.now() / 1000);
  const utf8 = new TextDecoder();

  let keys: Promise<Record<Purpose, Uint8Array>> | undefined;
  const keyOf = async (purpose: Purpose) =>
    (await (keys ??= secrets.send(new GetSecretValueCommand({ SecretId: env.SESSION_KEYS_SECRET_ID })).then(({ SecretString = '' }) => ({
      session: new Uint8Array(hkdfSync('sha256', SecretString, HKDF_SALT, HKDF_INFO.session, 32)),
      login: new Uint8Array(hkdfSync('sha256', SecretString, HKDF_SALT, HKDF_INFO.login, 32)),
    }))))[purpose];
  const seal = async (payload: object, purpose: Purpose) =>
    new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
      // The bff's header, for cookies of the same size.
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'floorkid', typ: `bff-${purpose}` })
      .encrypt(await keyOf(purpose));
  const open = async <T extends { exp: number }>(value: string | undefined, purpose: Purpose): Promise<T | undefined> => {
    if (value === undefined) return undefined;
    const payload = JSON.parse(utf8.decode((await compactDecrypt(value, await keyOf(purpose))).plaintext)) as T;
    return payload.exp > now() ? payload : undefined;
  };
  const cookie = (name: string, value: string, maxAge: number, sameSite = 'Strict') =>
    `${name}=${value}; HttpOnly; Secure; SameSite=${sameSite}; Path=/; Max-Age=${maxAge}`;
  const tokens = async (grant: Record<string, string>) =>
    JSON.parse((await rawPost(tokenEndpoint, new URLSearchParams({ ...grant, client_id: clientId, client_secret: await clientSecret() }).toString())).body) as Tokens;

  let jwks: Promise<JWTVerifyGetKey> | undefined;
  const idTokenKeys = () =>
    (jwks ??= rawRequest(new URL(`${env.ISSUER}.well-known/jwks.json`), { method: 'GET' }).then((answer) => createLocalJWKSet(JSON.parse(answer.body.toString('utf8')))));

  const app = new Hono();
  app.post('/par', async (c) => {
    const { return_to: returnTo, ...intent } = await c.req.json<Record<string, unknown>>();
    const login = { state: random43(), nonce: random43(), code_verifier: random43(), return_to: returnTo, iat: now(), exp: now() + 600 };
    const pushed = await push({
      ...intent,
      response_type: 'code',
      redirect_uri: env.REDIRECT_URI,
      state: login.state,
      nonce: login.nonce,
      code_challenge: createHash('sha256').update(login.code_verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    c.header('Set-Cookie', cookie(`${LOGIN_COOKIE}${login.state.slice(0, 16)}`, await seal(login, 'login'), 600, 'Lax'));
    const authorizationUrl = `${env.AUTHORIZATION_ENDPOINT}?client_id=${clientId}&request_uri=${encodeURIComponent(pushed.request_uri)}`;
    return c.json({ ...pushed, authorization_url: authorizationUrl }, 201, NO_STORE);
  });

  app.get('/callback', async (c) => {
    const state = c.req.query('state') ?? '';
    const name = `${LOGIN_COOKIE}${state.slice(0, 16)}`;
    const login = await open<Login>(getCookie(c, name), 'login');
    if (login === undefined || login.state !== state) return c.redirect(`${env.APP_URL}?error=login_required`, 303);
    const answer = await tokens({ grant_type: 'authorization_code', code: c.req.query('code') ?? '', code_verifier: login.code_verifier, redirect_uri: env.REDIRECT_URI ?? '' });
    const { payload } = await jwtVerify(answer.id_token ?? '', await idTokenKeys(), { issuer: env.ISSUER, audience: clientId });
    if (payload.nonce !== login.nonce) return c.redirect(`${env.APP_URL}?error=invalid_id_token`, 303);
    const iat = now();
    const session = { v: 1, iat, exp: iat + 86_400, claims: payload, token_type: 'Bearer', ...sessionTokens(answer, iat) };
    c.header('Set-Cookie', cookie(SESSION_COOKIE, await seal(session, 'session'), 86_400));
    c.header('Set-Cookie', cookie(name, '', 0, 'Lax'), { append: true });
    return c.redirect(env.APP_URL ?? '/', 303);
  });

  app.get('/session', async (c) => {
    const session = await open<Session>(getCookie(c, SESSION_COOKIE), 'session');
    if (session === undefined) return c.json({ authenticated: false }, 200, NO_STORE);
    return c.json({ authenticated: true, claims: session.claims, expires_at: session.exp }, 200, NO_STORE);
  });

  app.post('/logout', async (c) => {
    const session = await open<Session>(getCookie(c, SESSION_COOKIE), 'session');
    if (session?.refresh_token !== undefined) {
      const form = new URLSearchParams({ token: session.refresh_token, client_id: clientId, client_secret: await clientSecret() });
      await rawPost(new URL(`${env.ISSUER}oauth/revoke`), form.toString());
    }
    c.header('Set-Cookie', cookie(SESSION_COOKIE, '', 0));
    return c.json({ logout_url: null }, 200, NO_STORE);
  });

  app.all('/api/:name/*', async (c) => {
    let session = await open<Session>(getCookie(c, SESSION_COOKIE), 'session');
    if (session === undefined) return c.json({ error: 'login_required' }, 401, NO_STORE);
    if (session.expires_at - now() <= 30 && session.refresh_token !== undefined) {
      session = { ...session, ...sessionTokens(await tokens({ grant_type: 'refresh_token', refresh_token: session.refresh_token }), now(), session.refresh_token) };
      c.header('Set-Cookie', cookie(SESSION_COOKIE, await seal(session, 'session'), session.exp - now()));
    }
    return forward(c, upstreams, session.access_token);
  });
  return app;
}

function sessionTokens(tokens: Tokens, now: number, refreshToken?: string) {
  return {
    access_token: tokens.access_token,
    expires_at: now + (tokens.expires_in ?? 300),
    refresh_token: tokens.refresh_token ?? refreshToken,
    scope: tokens.scope,
  };
}

/** The request to the API's base URL + the rest of the path + the query, with the access token; its answer back. */
async function forward(c: Context, upstreams: Record<string, string>, accessToken: string): Promise<Response> {
  const url = new URL(c.req.url);
  const name = c.req.param('name') ?? '';
  const rest = url.pathname.slice(`/api/${name}/`.length);
  const method = c.req.method;
  const body = method === 'GET' || method === 'HEAD' ? undefined : new Uint8Array(await c.req.arrayBuffer());
  const answer = await rawRequest(new URL(`${upstreams[name]}/${rest}${url.search}`), {
    method,
    headers: { accept: c.req.header('accept') ?? '*/*', authorization: `Bearer ${accessToken}` },
    ...(body === undefined ? {} : { body }),
  });
  const type = answer.headers['content-type'];
  return c.body(new Uint8Array(answer.body), answer.status as 200, { ...NO_STORE, ...(type === undefined ? {} : { 'content-type': type }) });
}

const random43 = () => randomBytes(32).toString('base64url');
