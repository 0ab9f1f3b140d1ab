import { ConfigError } from './errors.ts';
import { isSigningAlg, type SigningAlg } from './jws.ts';

/**
 * Configuration is read from the environment once, at cold start, into typed objects. A missing or
 * invalid value throws a ConfigError naming the variable, so Lambda reports an init error instead
 * of failing requests one by one.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export const CLIENT_AUTH_METHODS = ['client_secret_post', 'client_secret_basic', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

export interface SigningKeyConfig {
  /** KMS key id, ARN or alias. */
  readonly keyId: string;
  readonly alg: SigningAlg;
  /** Fixed kid; when absent, the RFC 7638 thumbprint of the KMS public key. */
  readonly kid?: string;
}

export interface ClientConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly authMethod: ClientAuthMethod;
  /** Secrets Manager secret id or ARN; absent only with private_key_jwt. */
  readonly clientSecretId?: string;
  /** The key that signs private_key_jwt client assertions. */
  readonly assertionKey?: SigningKeyConfig;
  readonly allowedOrigins: ReadonlySet<string>;
  readonly allowedRedirectUris: ReadonlySet<string>;
  readonly upstreamTimeoutMs: number;
}

export interface ParConfig extends ClientConfig {
  readonly parEndpoint?: string;
  readonly authorizationEndpoint?: string;
  readonly signingKey: SigningKeyConfig;
  readonly requestObjectTtl: number;
  /** RFC 9396 types the proxy lets an intent carry; empty refuses every authorization_details. */
  readonly authorizationDetailsTypes: ReadonlySet<string>;
  /** Whether an intent may carry prompt=none (a silent login): off unless ALLOW_PROMPT_NONE=true. */
  readonly allowPromptNone: boolean;
}

export interface TokenConfig extends ClientConfig {
  readonly tokenEndpoint?: string;
}

export interface JwksConfig {
  /** Every key the proxy signs with or is about to sign with, in publication order. */
  readonly keys: readonly PublishedKeyConfig[];
  readonly upstreamTimeoutMs: number;
}

export interface PublishedKeyConfig extends SigningKeyConfig {
  /** It signs (KMS_KEY_ID, CLIENT_ASSERTION_KMS_KEY_ID): the JWKS is not answered without it. */
  readonly active: boolean;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === '' ? undefined : raw;
}

function required(env: Env, name: string): string {
  const raw = value(env, name);
  if (raw === undefined) throw new ConfigError(name, 'is required');
  return raw;
}

/** An https URL (http only on loopback, for the local stack), without fragment. */
export function parseUrl(raw: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not an absolute URL: ${raw}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new ConfigError(name, 'must be an https URL (http is accepted only for localhost)');
  }
  if (url.hash !== '' || raw.includes('#')) throw new ConfigError(name, 'must not have a fragment');
  return url;
}

function optionalUrl(env: Env, name: string): string | undefined {
  const raw = value(env, name);
  return raw === undefined ? undefined : parseUrl(raw, name).href;
}

function list(env: Env, name: string): string[] {
  return (value(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got ${raw}`);
  }
  return Number(raw);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = value(env, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got ${raw}`);
  }
  return raw as T;
}

/** Exactly `true` or `false`; anything else is a typo that must not silently mean either. */
function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(name, `must be true or false, got ${raw}`);
  return raw === 'true';
}

function signingAlg(env: Env, name: string): SigningAlg {
  const raw = value(env, name) ?? 'PS256';
  if (!isSigningAlg(raw)) throw new ConfigError(name, `must be PS256, RS256 or RS384, got ${raw}`);
  return raw;
}

function kid(env: Env, name: string): string | undefined {
  const raw = value(env, name);
  if (raw !== undefined && !/^[\x21-\x7e]{1,128}$/.test(raw)) {
    throw new ConfigError(name, 'must be 1 to 128 printable ASCII characters');
  }
  return raw;
}

function signingKey(env: Env, idVar: string, kidVar: string): SigningKeyConfig {
  const keyId = required(env, idVar);
  const fixedKid = kid(env, kidVar);
  return { keyId, alg: signingAlg(env, 'SIGNING_ALG'), ...(fixedKid === undefined ? {} : { kid: fixedKid }) };
}

/** The issuer is the request object's `aud` and must be kept exactly, trailing slash included. */
function issuer(env: Env): string {
  const raw = required(env, 'ISSUER');
  parseUrl(raw, 'ISSUER');
  return raw;
}

function origins(env: Env): ReadonlySet<string> {
  return new Set(
    list(env, 'ALLOWED_ORIGINS').map((origin) => {
      const url = parseUrl(origin, 'ALLOWED_ORIGINS');
      if (url.origin !== origin) {
        throw new ConfigError('ALLOWED_ORIGINS', `${origin} is not an origin (scheme://host[:port], no path)`);
      }
      return origin;
    }),
  );
}

function redirectUris(env: Env): ReadonlySet<string> {
  const uris = list(env, 'ALLOWED_REDIRECT_URIS');
  for (const uri of uris) parseUrl(uri, 'ALLOWED_REDIRECT_URIS');
  if (uris.length === 0) throw new ConfigError('ALLOWED_REDIRECT_URIS', 'is required');
  return new Set(uris);
}

function clientConfig(env: Env): ClientConfig {
  const authMethod = oneOf(env, 'CLIENT_AUTH_METHOD', CLIENT_AUTH_METHODS, 'client_secret_post');
  const usesSecret = authMethod !== 'private_key_jwt';
  const clientId = required(env, 'CLIENT_ID');
  if (!/^[\x20-\x7e]{1,255}$/.test(clientId)) throw new ConfigError('CLIENT_ID', 'must be printable ASCII');
  return {
    issuer: issuer(env),
    clientId,
    authMethod,
    ...(usesSecret
      ? { clientSecretId: required(env, 'CLIENT_SECRET_ID') }
      : { assertionKey: assertionKey(env) }),
    allowedOrigins: origins(env),
    allowedRedirectUris: redirectUris(env),
    upstreamTimeoutMs: integer(env, 'UPSTREAM_TIMEOUT_MS', 3000, 100, 8000),
  };
}

/** The private_key_jwt key: its own, or the request object key. */
function assertionKey(env: Env): SigningKeyConfig {
  return value(env, 'CLIENT_ASSERTION_KMS_KEY_ID') === undefined
    ? signingKey(env, 'KMS_KEY_ID', 'SIGNING_KID')
    : signingKey(env, 'CLIENT_ASSERTION_KMS_KEY_ID', 'CLIENT_ASSERTION_KID');
}

export function loadParConfig(env: Env): ParConfig {
  return {
    ...clientConfig(env),
    parEndpoint: optionalUrl(env, 'PAR_ENDPOINT'),
    authorizationEndpoint: optionalUrl(env, 'AUTHORIZATION_ENDPOINT'),
    signingKey: signingKey(env, 'KMS_KEY_ID', 'SIGNING_KID'),
    // FAPI 2.0 wants exp - nbf <= 60 min and request_uri lifetimes under 600 s; 600 s is plenty.
    requestObjectTtl: integer(env, 'REQUEST_OBJECT_TTL', 60, 10, 600),
    authorizationDetailsTypes: new Set(list(env, 'ALLOWED_AUTHORIZATION_DETAILS_TYPES')),
    allowPromptNone: boolean(env, 'ALLOW_PROMPT_NONE', false),
  };
}

export function loadTokenConfig(env: Env): TokenConfig {
  return { ...clientConfig(env), tokenEndpoint: optionalUrl(env, 'TOKEN_ENDPOINT') };
}

export function loadJwksConfig(env: Env): JwksConfig {
  const keys: PublishedKeyConfig[] = [{ ...signingKey(env, 'KMS_KEY_ID', 'SIGNING_KID'), active: true }];
  if (value(env, 'CLIENT_ASSERTION_KMS_KEY_ID') !== undefined) {
    keys.push({ ...signingKey(env, 'CLIENT_ASSERTION_KMS_KEY_ID', 'CLIENT_ASSERTION_KID'), active: true });
  }
  // Keys published ahead of (or after) their use, for zero-downtime rotation.
  const alg = signingAlg(env, 'SIGNING_ALG');
  for (const keyId of list(env, 'PUBLISHED_KMS_KEY_IDS')) keys.push({ keyId, alg, active: false });
  // The first entry of a key wins: an active key listed again stays active, with its kid.
  const unique = keys.filter((key, i) => keys.findIndex((other) => other.keyId === key.keyId) === i);
  return { keys: unique, upstreamTimeoutMs: integer(env, 'UPSTREAM_TIMEOUT_MS', 3000, 100, 8000) };
}
