import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { newDpopKey } from '../../functions/core/dpop-proof.ts';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbSessionStore } from '../../functions/adapters/dynamodb-session-store.ts';
import { SessionKeySource } from '../../functions/adapters/session-keys.ts';
import { Deadline } from '../../functions/core/deadline.ts';
import type { SessionPayload } from '../../functions/core/session.ts';
import { FAKE_REGION } from '../../local/fake-kms.ts';
import type { FakeSecretsManager } from '../../local/fake-secrets-manager.ts';
import { startLocalSessionTable, type LocalSessionTable } from '../../local/session-table.ts';
import { startFaultyDynamoDb, type FaultyDynamoDb } from '../../test/helpers/dynamodb-faults.ts';
import {
  bffEvent,
  realisticAccessToken,
  realisticClaims,
  realisticSession,
  sealWithDeployedKeys,
  startCountingApi,
  type CountingApi,
} from '../../test/helpers/bff-fixtures.ts';
import type { Script } from '../../test/helpers/scripted-authorization-server.ts';

/**
 * What the bff's measurements add to the fakes (bench/lib/fakes.ts): the session-keys secret, an
 * API upstream that counts what reaches it, an ID-token signing key published at the scripted
 * authorization server's jwks_uri, the token endpoint's answers to the bff's code exchange and
 * refresh, and the sealed cookies, sealed once here with the bff's own key derivation
 * (SessionKeySource): the bff and its floor open the very same bytes.
 */
export interface BffFakes {
  readonly api: CountingApi;
  /** The bff's settings, on top of the fakes' environment (without ALLOWED_REDIRECT_URIS: relay only). */
  readonly env: Record<string, string>;
  readonly events: Readonly<Record<BffEventName, APIGatewayProxyEventV2>>;
  /** The sealed session cookie's value, in bytes (one cookie: below the 3800-byte chunk size). */
  readonly sessionCookieBytes: number;
  /** The same session with a DPoP key (DPOP=true, RFC 9449), in bytes. */
  readonly dpopSessionCookieBytes: number;
  /**
   * SESSION_STORE=dynamodb (issue 15): dynalite in this process behind a counting stand-in (its
   * `calls` per operation), the same sessions as records, and the events carrying their ids.
   */
  readonly store: {
    readonly table: LocalSessionTable;
    readonly counter: FaultyDynamoDb;
    /** On top of `env`: the store's settings and AWS_ENDPOINT_URL_DYNAMODB. */
    readonly env: Record<string, string>;
    readonly events: Readonly<Record<'session' | 'api', APIGatewayProxyEventV2>>;
  };
  /** The token and jwks scripts, for the scripted server (its reset drops them). */
  readonly scripts: { readonly token: Script; readonly jwks: Script };
}

export type BffEventName = 'session' | 'api' | 'apiRefresh' | 'par' | 'callback' | 'apiDpop' | 'apiRefreshDpop';

export const BFF_EXPECTED_STATUS: Readonly<Record<BffEventName, number>> = {
  session: 200,
  api: 200,
  apiRefresh: 200,
  par: 201,
  callback: 303,
  apiDpop: 200,
  apiRefreshDpop: 200,
};

/** What DPOP=true adds to the bff's environment (its sessions then hold a key: the api*Dpop events). */
export const DPOP_ENV = { DPOP: 'true' } as const;

/** The code the bff's callback redeems; other codes (relay's /token) get the scripted server's default answer. */
const BFF_CODE = 'bench-bff-code-Qw3rTy';

export async function startBffFakes(options: {
  issuer: string;
  clientId: string;
  origin: string;
  redirectUri: string;
  secretsManager: FakeSecretsManager;
}): Promise<BffFakes> {
  const { issuer, clientId, origin, secretsManager } = options;
  const api = await startCountingApi();
  const keys = secretsManager.createSecret('bench/session-keys', randomBytes(32).toString('base64url'));
  const now = Math.floor(Date.now() / 1000);

  // The callback's ID token: signed once, with the nonce of the login cookie below.
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-as-key', alg: 'RS256', use: 'sig' };
  const login = { v: 1, state: random43(), nonce: random43(), code_verifier: random43(), return_to: '/orders', iat: now, exp: now + 3600 };
  const idToken = await new SignJWT({ ...realisticClaims(issuer, clientId, now), nonce: login.nonce })
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
    .sign(privateKey);
  const answer = (refreshToken: boolean) => ({
    access_token: realisticAccessToken(issuer, clientId, now),
    token_type: 'Bearer',
    expires_in: 86_400,
    ...(refreshToken ? { refresh_token: `v1.${randomBytes(96).toString('base64url')}` } : {}),
    id_token: idToken,
    scope: 'openid profile email offline_access read:orders',
  });
  const codeAnswer = answer(true);
  // Non-rotating refresh tokens (the default for confidential clients): no new refresh_token.
  const refreshAnswer = answer(false);

  const seal = (payload: { exp: number }, purpose: 'session' | 'login') => sealWithDeployedKeys(secretsManager.url, keys.arn, payload, purpose);
  // RFC 9449: the same sessions bound to a key per login (the proofs are made per request).
  const withKey = (payload: ReturnType<typeof realisticSession>) => ({ ...payload, token_type: 'DPoP' as const, dpop_key: newDpopKey() });
  const [session, dueSession, loginCookie, dpopSession, dueDpopSession] = await Promise.all([
    seal(realisticSession(issuer, clientId, now, 86_400), 'session'),
    // Expires within REFRESH_WITHIN_SECONDS, so every API call with it refreshes first.
    seal(realisticSession(issuer, clientId, now, 10), 'session'),
    seal(login, 'login'),
    seal(withKey(realisticSession(issuer, clientId, now, 86_400)), 'session'),
    seal(withKey(realisticSession(issuer, clientId, now, 10)), 'session'),
  ]);
  const sessionCookie = (value: string) => [`__Host-bff-session=${value}`];
  const store = await startStore(secretsManager.url, keys.arn, realisticSession(issuer, clientId, now, 86_400) as SessionPayload, now);
  const storeEvent = (path: string, query?: string) =>
    bffEvent({ method: 'GET', path, ...(query === undefined ? {} : { query }), origin, cookies: sessionCookie(store.id) });

  return {
    api,
    env: {
      PROXY_MODE: 'bff',
      REDIRECT_URI: options.redirectUri,
      APP_URL: `${origin}/`,
      SESSION_KEYS_SECRET_ID: keys.arn,
      API_UPSTREAMS: JSON.stringify({ demo: api.url }),
    },
    events: {
      session: bffEvent({ method: 'GET', path: '/session', origin, cookies: sessionCookie(session) }),
      api: bffEvent({ method: 'GET', path: '/api/demo/v1/orders', query: 'limit=10', origin, cookies: sessionCookie(session) }),
      apiRefresh: bffEvent({ method: 'GET', path: '/api/demo/v1/orders', query: 'limit=10', origin, cookies: sessionCookie(dueSession) }),
      apiDpop: bffEvent({ method: 'GET', path: '/api/demo/v1/orders', query: 'limit=10', origin, cookies: sessionCookie(dpopSession) }),
      apiRefreshDpop: bffEvent({ method: 'GET', path: '/api/demo/v1/orders', query: 'limit=10', origin, cookies: sessionCookie(dueDpopSession) }),
      par: bffEvent({ method: 'POST', path: '/par', origin, body: JSON.stringify({ scope: 'openid profile email offline_access', return_to: '/orders' }) }),
      // A navigation from the authorization server: no Origin, no X-CSRF (RFC 9207: iss in the response).
      callback: bffEvent({
        method: 'GET',
        path: '/callback',
        query: new URLSearchParams({ code: BFF_CODE, state: login.state, iss: issuer }).toString(),
        csrf: false,
        cookies: [`__Host-bff-login.${login.state.slice(0, 16)}=${loginCookie}`],
      }),
    },
    sessionCookieBytes: session.length,
    dpopSessionCookieBytes: dpopSession.length,
    store: {
      table: store.table,
      counter: store.counter,
      env: { SESSION_STORE: 'dynamodb', SESSION_TABLE_NAME: store.table.tableName, AWS_ENDPOINT_URL_DYNAMODB: store.counter.url },
      events: { session: storeEvent('/session'), api: storeEvent('/api/demo/v1/orders', 'limit=10') },
    },
    scripts: {
      token: (_call, form, headers) =>
        form.get('grant_type') === 'refresh_token'
          ? // A proved refresh gets a DPoP token (RFC 9449 5), as the bff requires.
            { status: 200, body: headers.dpop === undefined ? refreshAnswer : { ...refreshAnswer, token_type: 'DPoP' } }
          : form.get('code') === BFF_CODE
            ? { status: 200, body: codeAnswer }
            : undefined,
      jwks: () => ({ status: 200, body: { keys: [jwk] } }),
    },
  };
}

const random43 = () => randomBytes(32).toString('base64url');

/** The session table with one session in it, written by the bff's own store and key derivation. */
async function startStore(secretsUrl: string, secretId: string, session: SessionPayload, now: number) {
  const table = await startLocalSessionTable();
  const counter = await startFaultyDynamoDb(table.url);
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  const secrets = new SecretsManagerClient({ region: FAKE_REGION, endpoint: secretsUrl, credentials });
  const dynamo = new DynamoDBClient({ region: FAKE_REGION, endpoint: table.url, credentials });
  const id = random43();
  try {
    const store = new DynamoDbSessionStore(dynamo, table.tableName, new SessionKeySource(secrets, secretId));
    await store.create(id, session, now, Deadline.start(Date.now, 5000, 5000));
  } finally {
    secrets.destroy();
    dynamo.destroy();
  }
  return { table, counter, id };
}
