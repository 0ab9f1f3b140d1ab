import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { decodeJwt, SignJWT } from 'jose';
import { expect } from 'vitest';
import { lambdaHandler, type ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { fromEnv } from '../../functions/bff/wiring.ts';
import { startLocalResourceServer, type LocalResourceServer } from '../../local/resource-server.ts';
import { apiEvent, lambdaContext } from './events.ts';
import { CLIENT_ID, ORIGIN, startHarness, type Harness } from './harness.ts';
import type { LeakCollector } from './leak-collector.ts';
import { discoveryDocument, type Reply } from './scripted-authorization-server.ts';

/**
 * The bff function as Lambda runs it (functions/bff/wiring.ts behind functions/app/lambda.ts), fed
 * API Gateway v2 events with `cookies` and answering them in the result's `cookies` array, against
 * test/helpers/harness.ts's KMS, Secrets Manager and scripted authorization server, and a local API
 * (local/resource-server.ts). Sessions are made the real way: POST /par through the handler, the
 * state and nonce read from the request object the server received, an ID token signed here with
 * the key the server's JWKS publishes, GET /callback through the handler.
 *
 * Every cookie value the proxy sets, and every code, token and request object made here, is told to
 * `leaks` as a secret; every answer's headers and body are given to it.
 */
export const APP_URL = `${ORIGIN}/`;
export const SESSION = '__Host-bff-session';
export const LOGIN_PREFIX = '__Host-bff-login.';
export const KID = 'as-key-1';

export interface BffRequest {
  readonly method?: string;
  readonly path: string;
  readonly query?: string;
  /** event.cookies: `name=value` each. */
  readonly cookies?: readonly string[];
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** The SPA's call: X-CSRF: 1 and the app's Origin (false for the /callback navigation). */
  readonly js?: boolean;
}

export interface BffAnswer {
  readonly status: number;
  readonly headers: Record<string, string | number | boolean>;
  readonly raw: string;
  readonly body: Record<string, unknown>;
  /** The result's `cookies`: one Set-Cookie each, as API Gateway v2 wants them. */
  readonly setCookies: readonly string[];
  readonly ms: number;
}

export interface StartedLogin {
  /** `__Host-bff-login.<id>=<sealed>` */
  readonly loginCookie: string;
  readonly state: string;
  readonly nonce: string;
}

export interface IdTokenOptions {
  readonly nonce: string;
  /** Claims to add or override (iss and aud too). */
  readonly claims?: Record<string, unknown>;
  /** Seconds from now; negative: expired. */
  readonly expiresIn?: number;
  /** Signs under KID; default the key the JWKS publishes. */
  readonly key?: KeyObject;
}

export interface Tokens {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly expires_in: number;
}

export interface Session {
  /** `__Host-bff-session=<sealed>` */
  readonly cookie: string;
  readonly tokens: Tokens;
}

export const cookiePair = (setCookie: string): string => setCookie.split(';')[0]!;
export const cookieName = (setCookie: string): string => cookiePair(setCookie).split('=')[0]!;
export const cookieValue = (setCookie: string): string => cookiePair(setCookie).slice(cookieName(setCookie).length + 1);
/** Names of the cookies an answer clears (Max-Age=0), and of those it writes. */
export const cleared = (answer: BffAnswer): string[] => answer.setCookies.filter((line) => / Max-Age=0$/.test(line)).map(cookieName);
export const written = (answer: BffAnswer): string[] => answer.setCookies.filter((line) => !/ Max-Age=0$/.test(line)).map(cookieName);
/** The `error` of a 303's Location. */
export const errorOf = (answer: BffAnswer): string | null => new URL(String(answer.headers.location)).searchParams.get('error');

export interface BffStack {
  readonly harness: Harness;
  readonly api: LocalResourceServer;
  readonly env: Record<string, string>;
  /** The warm container most tests use. */
  readonly bff: ApiGatewayHandler;
  /** A fresh container: nothing cached (session keys, discovery, JWKS, client secret). */
  cold(overrides?: Record<string, string>): ApiGatewayHandler;
  /** The discovery document: RFC 9207 iss, RS256 ID tokens, revocation and end-session endpoints; `extra` overrides. */
  discovery(extra?: Record<string, unknown>): Reply;
  /** The JWKS answer with the ID token key. */
  jwks(): Reply;
  /** Every upstream behaves again (the scripted server forgets its requests too). */
  behave(): void;
  send(handler: ApiGatewayHandler, request: BffRequest): Promise<BffAnswer>;
  startLogin(handler?: ApiGatewayHandler, intent?: Record<string, unknown>): Promise<StartedLogin>;
  idToken(options: IdTokenOptions): Promise<string>;
  /** Fresh tokens; `expiresIn` at most 30 makes the next API call refresh. */
  tokens(expiresIn?: number): Tokens;
  /** The token endpoint answers the code with `issued` and an ID token (for this login's nonce unless `id` says otherwise). */
  answerCode(login: StartedLogin, issued?: Tokens, id?: IdTokenOptions): Promise<void>;
  /** GET /callback as the authorization server's redirect makes the browser send it; a param '' is left out. */
  callback(handler: ApiGatewayHandler, login: StartedLogin, params?: Record<string, string>): Promise<BffAnswer>;
  /** A whole login through the handler: a real sealed session cookie. */
  signIn(handler?: ApiGatewayHandler, issued?: Tokens): Promise<Session>;
  /** A value marked as this run's, for the leak collector. */
  unique(what: string): string;
  close(): Promise<void>;
}

export async function startBffStack(leaks: LeakCollector): Promise<BffStack> {
  const mark = randomBytes(6).toString('hex');
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const harness = await startHarness();
  const api = await startLocalResourceServer({ issuer: harness.as.issuer });
  const material = `session-keys-${mark}-${randomBytes(24).toString('base64url')}`;
  const sessionKeys = harness.secretsManager.createSecret('par/session-keys', material);
  const { ALLOWED_REDIRECT_URIS: _relayOnly, ...shared } = harness.env;
  const env: Record<string, string> = {
    ...shared,
    PROXY_MODE: 'bff',
    REDIRECT_URI: `${ORIGIN}/callback`,
    SESSION_KEYS_SECRET_ID: sessionKeys.arn,
    POST_LOGOUT_REDIRECT_URI: APP_URL,
    API_UPSTREAMS: JSON.stringify({ demo: api.apiUrl, readonly: { url: api.apiUrl, methods: ['GET'] } }),
  };
  leaks.secret(material);
  let serial = 0;
  const unique = (what: string) => `${what}-${mark}-${(serial += 1)}-${randomBytes(6).toString('base64url')}`;
  const cold = (overrides: Record<string, string> = {}) => lambdaHandler(fromEnv({ ...env, ...overrides }).app);

  const discovery = (extra: Record<string, unknown> = {}): Reply => ({
    status: 200,
    body: {
      ...discoveryDocument(harness.as.issuer),
      end_session_endpoint: `${harness.as.issuer}session/end`,
      authorization_response_iss_parameter_supported: true,
      id_token_signing_alg_values_supported: ['RS256'],
      ...extra,
    },
  });
  const jwks = (): Reply => ({ status: 200, body: { keys: [{ ...signingKey.publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] } });
  const behave = () => {
    harness.as.reset();
    harness.secretsManager.setFault(undefined);
    harness.kms.setFault(undefined);
    api.reset();
    harness.as.script('discovery', () => discovery());
    harness.as.script('jwks', jwks);
  };

  async function send(handler: ApiGatewayHandler, request: BffRequest): Promise<BffAnswer> {
    const event = apiEvent({
      method: request.method ?? 'GET',
      path: request.path,
      headers: {
        ...(request.js === false ? {} : { 'x-csrf': '1', origin: ORIGIN }),
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...request.headers,
      },
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    const started = performance.now();
    const result = (await handler(
      { ...event, rawQueryString: request.query ?? '', ...(request.cookies === undefined ? {} : { cookies: [...request.cookies] }) },
      lambdaContext,
    )) as Exclude<APIGatewayProxyResultV2, string>;
    const ms = performance.now() - started;
    const raw = result.body ?? '';
    let body: Record<string, unknown> = {};
    try {
      body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
    } catch {
      body = { unparsable: raw };
    }
    const answer = { status: result.statusCode ?? 0, headers: result.headers ?? {}, raw, body, setCookies: result.cookies ?? [], ms };
    // Headers (Location included) and bodies are checked for leaks; Set-Cookie carries sealed values by design.
    leaks.answer(answer);
    for (const line of answer.setCookies) leaks.secret(cookieValue(line));
    return answer;
  }

  async function startLogin(handler: ApiGatewayHandler = bff, intent: Record<string, unknown> = { scope: 'openid offline_access' }): Promise<StartedLogin> {
    const answer = await send(handler, { method: 'POST', path: '/par', body: JSON.stringify(intent) });
    expect(answer.status, answer.raw).toBe(201);
    const login = answer.setCookies.find((line) => line.startsWith(LOGIN_PREFIX) && !/ Max-Age=0$/.test(line));
    expect(login, 'the login cookie').toBeDefined();
    const requestObject = harness.as.requests.filter((r) => r.endpoint === 'par').at(-1)!.form.get('request')!;
    leaks.secret(requestObject);
    const claims = decodeJwt(requestObject);
    return { loginCookie: cookiePair(login!), state: String(claims.state), nonce: String(claims.nonce) };
  }

  async function idToken({ nonce, claims = {}, expiresIn = 300, key = signingKey.privateKey }: IdTokenOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ nonce, name: 'Katherine Johnson', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
      .setIssuer(String(claims.iss ?? harness.as.issuer))
      .setAudience((claims.aud as string | undefined) ?? CLIENT_ID)
      .setSubject('katherine.johnson')
      .setIssuedAt(now)
      .setExpirationTime(now + expiresIn)
      .sign(key);
    leaks.secret(token);
    return token;
  }

  const tokens = (expiresIn = 3600): Tokens => {
    const issued = { access_token: unique('access'), refresh_token: unique('refresh'), expires_in: expiresIn };
    leaks.secret(issued.access_token, issued.refresh_token);
    return issued;
  };

  async function answerCode(login: StartedLogin, issued: Tokens = tokens(), id?: IdTokenOptions): Promise<void> {
    const id_token = await idToken(id ?? { nonce: login.nonce });
    harness.as.script('token', () => ({ status: 200, body: { token_type: 'Bearer', ...issued, id_token } }));
  }

  function callback(handler: ApiGatewayHandler, login: StartedLogin, params: Record<string, string> = {}): Promise<BffAnswer> {
    const code = unique('code');
    leaks.secret(code);
    const query = new URLSearchParams({ code, state: login.state, iss: harness.as.issuer, ...params });
    for (const [name, value] of Object.entries(params)) if (value === '') query.delete(name);
    return send(handler, { path: '/callback', query: query.toString(), cookies: [login.loginCookie], js: false });
  }

  async function signIn(handler: ApiGatewayHandler = bff, issued: Tokens = tokens()): Promise<Session> {
    const login = await startLogin(handler);
    await answerCode(login, issued);
    const answer = await callback(handler, login);
    expect(answer.status, answer.raw).toBe(303);
    expect(answer.headers.location).toBe(APP_URL);
    const session = answer.setCookies.find((line) => line.startsWith(`${SESSION}=`));
    expect(session, 'the session cookie').toBeDefined();
    harness.as.script('token', undefined);
    return { cookie: cookiePair(session!), tokens: issued };
  }

  behave();
  const bff = cold();
  return {
    harness,
    api,
    env,
    bff,
    cold,
    discovery,
    jwks,
    behave,
    send,
    startLogin,
    idToken,
    tokens,
    answerCode,
    callback,
    signIn,
    unique,
    close: async () => {
      await Promise.all([harness.close(), api.close()]);
    },
  };
}
