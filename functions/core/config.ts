import { envSource, settingsReader, type Settings } from '../settings/reader.ts';
import { InvalidSetting, url } from '../settings/rules.ts';
import { fapi2Problems } from '../settings/profile.ts';
import {
  ALLOW_PROMPT_NONE,
  ALLOWED_AUTHORIZATION_DETAILS_TYPES,
  ALLOWED_ORIGINS,
  ALLOWED_REDIRECT_URIS,
  AUTHORIZATION_ENDPOINT,
  CLIENT_ASSERTION_KID,
  CLIENT_ASSERTION_KMS_KEY_ID,
  CLIENT_AUTH_METHOD,
  CLIENT_ID,
  CLIENT_SECRET_ID,
  DPOP,
  ISSUER,
  KMS_KEY_ID,
  PAR_ENDPOINT,
  PUBLISHED_KMS_KEY_IDS,
  REQUEST_OBJECT_TTL,
  SIGNING_ALG,
  SIGNING_KID,
  TOKEN_ENDPOINT,
  UPSTREAM_TIMEOUT_MS,
  API_UPSTREAMS,
  APP_URL,
  BASE_PATH,
  POST_LOGOUT_REDIRECT_URI,
  PROXY_MODE,
  REDIRECT_URI,
  SESSION_KEYS_SECRET_ID,
  SESSION_MAX_AGE,
  ORIGIN_SECRET_ID,
  RESPONSE_MODE,
  SECURITY_PROFILE,
  SESSION_STORE,
  SESSION_TABLE_NAME,
  SESSION_IDLE_TIMEOUT,
  ownCallbackProblem,
  type ClientAuthMethod,
} from '../settings/table.ts';
import type { ApiUpstreams } from './api-path.ts';
import { ConfigError } from './errors.ts';
import type { SigningAlg } from './jws.ts';

/**
 * Configuration is read from the environment once, at cold start, into typed objects, following
 * the rules of functions/settings/table.ts. Every missing or invalid value is named in one
 * ConfigError, so Lambda reports an init error instead of failing requests one by one.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export { CLIENT_AUTH_METHODS, type ClientAuthMethod } from '../settings/table.ts';

export interface SigningKeyConfig {
  /** KMS key id, ARN or alias. */
  readonly keyId: string;
  readonly alg: SigningAlg;
  /** Fixed kid; when absent, the RFC 7638 thumbprint of the KMS public key. */
  readonly kid?: string;
}

/** How the proxy authenticates to the authorization server: a secret, or a key that signs assertions. */
export type ClientAuthConfig =
  | {
      readonly authMethod: Exclude<ClientAuthMethod, 'private_key_jwt'>;
      /** Secrets Manager secret id or ARN. */
      readonly clientSecretId: string;
    }
  | {
      readonly authMethod: 'private_key_jwt';
      /** The key that signs the client assertions. */
      readonly assertionKey: SigningKeyConfig;
    };

/** Behind the edge: the secret whose value every request must carry (functions/app/origin-verification.ts). */
export interface OriginSecretConfig {
  readonly originSecretId?: string;
}

export type ClientConfig = ClientAuthConfig & OriginSecretConfig & {
  readonly issuer: string;
  readonly clientId: string;
  readonly allowedOrigins: ReadonlySet<string>;
  readonly allowedRedirectUris: ReadonlySet<string>;
  readonly upstreamTimeoutMs: number;
  /** SECURITY_PROFILE=fapi2: PS256 and private_key_jwt (checked at load), iss required, DPoP. */
  readonly fapi2: boolean;
};

export type ParConfig = ClientConfig & {
  readonly parEndpoint?: string;
  readonly authorizationEndpoint?: string;
  readonly signingKey: SigningKeyConfig;
  readonly requestObjectTtl: number;
  /** RFC 9396 types the proxy lets an intent carry; empty refuses every authorization_details. */
  readonly authorizationDetailsTypes: ReadonlySet<string>;
  /** Whether an intent may carry prompt=none (a silent login): off unless ALLOW_PROMPT_NONE=true. */
  readonly allowPromptNone: boolean;
  /** DPOP=true: an intent must carry dpop_jkt, and the answer names the token endpoint. */
  readonly dpop: boolean;
  readonly tokenEndpoint?: string;
};

export type TokenConfig = ClientConfig & {
  readonly tokenEndpoint?: string;
  /** DPOP=true: a proof on every grant, and refresh tokens sealed to its key with these session keys. */
  readonly dpop?: { readonly sessionKeysSecretId: string };
};

/** The bff function (RFC 10017 6.1): the relay /par's settings, the token endpoint's, and the session's. */
export type BffConfig = ClientAuthConfig & OriginSecretConfig & {
  readonly issuer: string;
  readonly clientId: string;
  readonly allowedOrigins: ReadonlySet<string>;
  readonly upstreamTimeoutMs: number;
  readonly fapi2: boolean;
  /** RESPONSE_MODE: `jwt` (JARM) or `query`, how /callback gets the authorization response. */
  readonly responseMode: 'query' | 'jwt';
  readonly parEndpoint?: string;
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
  readonly signingKey: SigningKeyConfig;
  readonly requestObjectTtl: number;
  readonly authorizationDetailsTypes: ReadonlySet<string>;
  readonly allowPromptNone: boolean;
  /** This function's own /callback: BASE_PATH + /callback. */
  readonly redirectUri: string;
  readonly appUrl: string;
  readonly postLogoutRedirectUri?: string;
  readonly sessionKeysSecretId: string;
  /** Seconds. */
  readonly sessionMaxAge: number;
  /** SESSION_STORE: in the cookie, or in a DynamoDB table (idle timeout in seconds). */
  readonly sessionStore: { readonly kind: 'cookie' } | { readonly kind: 'dynamodb'; readonly tableName: string; readonly idleTimeout: number };
  /** '' or a prefix such as /auth. */
  readonly basePath: string;
  readonly apiUpstreams: ApiUpstreams;
  /** RFC 9449: DPoP-bound tokens, a key per login (DPOP). */
  readonly dpop: boolean;
};

export interface JwksConfig extends OriginSecretConfig {
  /** Every key the proxy signs with or is about to sign with, in publication order. */
  readonly keys: readonly PublishedKeyConfig[];
  readonly upstreamTimeoutMs: number;
}

export interface PublishedKeyConfig extends SigningKeyConfig {
  /** It signs (KMS_KEY_ID, CLIENT_ASSERTION_KMS_KEY_ID): the JWKS is not answered without it. */
  readonly active: boolean;
}

/**
 * Builds a configuration from the settings `build` reads, then throws a ConfigError naming every
 * bad one. Values that failed are undefined while `build` runs, and never returned. Which settings a
 * function reads is declared in the table (`readBy`), and test/unit/settings.test.ts holds the
 * loaders to it.
 */
export function loadConfig<T>(env: Env, build: (s: Settings) => T): T {
  const s = settingsReader('env', envSource(env));
  let config: T | undefined;
  try {
    config = build(s);
  } catch (error) {
    // A value that failed may have tripped `build`: the configuration error says which.
    if (s.problems.length === 0) throw error;
  }
  const [first, ...more] = s.problems;
  if (first !== undefined) throw new ConfigError(first.name, first.reason, more);
  return config!;
}

/** An https URL (http only on loopback, for the local stack), without fragment. */
export function parseUrl(raw: string, name: string): URL {
  try {
    return new URL(url(raw, { deployment: false }));
  } catch (error) {
    if (error instanceof InvalidSetting) throw new ConfigError(name, error.message);
    throw error;
  }
}

function signingKey(s: Settings, keyId: string, kid: string | undefined): SigningKeyConfig {
  return { keyId, alg: s.get(SIGNING_ALG), ...(kid === undefined ? {} : { kid }) };
}

const requestObjectKey = (s: Settings) => signingKey(s, s.get(KMS_KEY_ID), s.get(SIGNING_KID));

/** CLIENT_ASSERTION_KMS_KEY_ID (with its kid) when set, else the request object key. */
function assertionKey(s: Settings): SigningKeyConfig {
  const keyId = s.get(CLIENT_ASSERTION_KMS_KEY_ID);
  return keyId === undefined ? requestObjectKey(s) : signingKey(s, keyId, s.get(CLIENT_ASSERTION_KID));
}

function clientAuth(s: Settings): ClientAuthConfig {
  const authMethod = s.get(CLIENT_AUTH_METHOD);
  if (authMethod === 'private_key_jwt') return { authMethod, assertionKey: assertionKey(s) };
  // Required with a secret method: the reader has refused its absence.
  return { authMethod, clientSecretId: s.get(CLIENT_SECRET_ID)! };
}

function clientConfig(s: Settings): ClientConfig {
  return { ...browserClient(s), allowedRedirectUris: new Set(s.get(ALLOWED_REDIRECT_URIS)) };
}

/** What relay's functions and the bff share; the bff has one redirect URI, its own (REDIRECT_URI). */
function browserClient(s: Settings) {
  return {
    issuer: s.get(ISSUER),
    clientId: s.get(CLIENT_ID),
    ...clientAuth(s),
    allowedOrigins: new Set(s.get(ALLOWED_ORIGINS)),
    upstreamTimeoutMs: s.get(UPSTREAM_TIMEOUT_MS),
    ...originSecret(s),
    fapi2: fapi2(s),
  };
}

function originSecret(s: Settings): OriginSecretConfig {
  const originSecretId = s.get(ORIGIN_SECRET_ID);
  return originSecretId === undefined ? {} : { originSecretId };
}

/** SECURITY_PROFILE, after refusing every setting that contradicts it. */
function fapi2(s: Settings): boolean {
  const [first, ...more] = fapi2Problems(s, 'env', CLIENT_SECRET_ID);
  if (first !== undefined) throw new ConfigError(first.name, first.reason, more);
  return s.get(SECURITY_PROFILE) === 'fapi2';
}

export function loadParConfig(env: Env): ParConfig {
  return loadConfig(env, (s) => ({
    ...clientConfig(s),
    parEndpoint: s.get(PAR_ENDPOINT),
    authorizationEndpoint: s.get(AUTHORIZATION_ENDPOINT),
    signingKey: requestObjectKey(s),
    requestObjectTtl: s.get(REQUEST_OBJECT_TTL),
    authorizationDetailsTypes: new Set(s.get(ALLOWED_AUTHORIZATION_DETAILS_TYPES)),
    allowPromptNone: s.get(ALLOW_PROMPT_NONE),
    dpop: s.get(DPOP),
    tokenEndpoint: s.get(TOKEN_ENDPOINT),
  }));
}

export function loadTokenConfig(env: Env): TokenConfig {
  return loadConfig(env, (s) => {
    const config = { ...clientConfig(s), tokenEndpoint: s.get(TOKEN_ENDPOINT) };
    const sessionKeysSecretId = s.get(SESSION_KEYS_SECRET_ID);
    if (!s.get(DPOP)) return config;
    // The refresh tokens it hands the SPA are sealed: without the key material it cannot start.
    if (sessionKeysSecretId === undefined) throw new ConfigError(SESSION_KEYS_SECRET_ID.env, 'is required with DPOP=true (the refresh tokens are sealed to the DPoP key)');
    return { ...config, dpop: { sessionKeysSecretId } };
  });
}

export function loadBffConfig(env: Env): BffConfig {
  return loadConfig(env, (s) => {
    const client = browserClient(s);
    if (s.get(PROXY_MODE) !== 'bff') throw new ConfigError(PROXY_MODE.env, 'must be bff for the bff function (relay mode deploys par and token instead)');
    const basePath = s.get(BASE_PATH) ?? '';
    const redirectUri = s.get(REDIRECT_URI)!;
    const notOwn = ownCallbackProblem(redirectUri, basePath);
    if (notOwn !== undefined) throw new ConfigError(REDIRECT_URI.env, notOwn);
    const callback = new URL(redirectUri);
    const postLogoutRedirectUri = s.get(POST_LOGOUT_REDIRECT_URI);
    return {
      ...client,
      // FAPI 2.0 Message Signing's signed responses by default: iss, code and state under the server's signature.
      responseMode: s.get(RESPONSE_MODE) ?? (client.fapi2 ? 'jwt' : 'query'),
      parEndpoint: s.get(PAR_ENDPOINT),
      authorizationEndpoint: s.get(AUTHORIZATION_ENDPOINT),
      tokenEndpoint: s.get(TOKEN_ENDPOINT),
      signingKey: requestObjectKey(s),
      requestObjectTtl: s.get(REQUEST_OBJECT_TTL),
      authorizationDetailsTypes: new Set(s.get(ALLOWED_AUTHORIZATION_DETAILS_TYPES)),
      allowPromptNone: s.get(ALLOW_PROMPT_NONE),
      redirectUri,
      appUrl: s.get(APP_URL) ?? `${callback.origin}/`,
      ...(postLogoutRedirectUri === undefined ? {} : { postLogoutRedirectUri }),
      sessionKeysSecretId: s.get(SESSION_KEYS_SECRET_ID)!,
      sessionMaxAge: s.get(SESSION_MAX_AGE),
      sessionStore:
        s.get(SESSION_STORE) === 'dynamodb'
          ? { kind: 'dynamodb', tableName: s.get(SESSION_TABLE_NAME)!, idleTimeout: s.get(SESSION_IDLE_TIMEOUT) }
          : { kind: 'cookie' },
      basePath,
      apiUpstreams: s.get(API_UPSTREAMS) ?? new Map(),
      dpop: s.get(DPOP),
    };
  });
}

export function loadJwksConfig(env: Env): JwksConfig {
  return loadConfig(env, jwksConfig);
}

function jwksConfig(s: Settings): JwksConfig {
  const keys: PublishedKeyConfig[] = [{ ...requestObjectKey(s), active: true }];
  const assertionKeyId = s.get(CLIENT_ASSERTION_KMS_KEY_ID);
  if (assertionKeyId !== undefined) keys.push({ ...signingKey(s, assertionKeyId, s.get(CLIENT_ASSERTION_KID)), active: true });
  // Keys published ahead of (or after) their use, for zero-downtime rotation.
  for (const keyId of s.get(PUBLISHED_KMS_KEY_IDS) ?? []) keys.push({ keyId, alg: s.get(SIGNING_ALG), active: false });
  // The first entry of a key wins: an active key listed again stays active, with its kid.
  const unique = keys.filter((key, i) => keys.findIndex((other) => other.keyId === key.keyId) === i);
  return { keys: unique, upstreamTimeoutMs: s.get(UPSTREAM_TIMEOUT_MS), ...originSecret(s) };
}
