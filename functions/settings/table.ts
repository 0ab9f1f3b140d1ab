import { SIGNING_ALGS, type SigningAlg } from '../core/jws.ts';
import { FUNCTIONS, hasCapability, type FunctionName, type FunctionSpec } from '../manifest.ts';
import type { Setting } from './reader.ts';
import { ConfigError } from '../core/errors.ts';
import { parseApiUpstreams, type ApiUpstreams } from '../core/api-path.ts';
import { boolean, integer, invalid, kid, list, matching, oneOf, printable, url } from './rules.ts';

/**
 * Every setting of the proxy, once: its environment variable and CDK context key, its rule (type
 * and bounds), its default, and which functions read it. The functions' config loaders
 * (functions/core/config.ts), the CDK app's validation (infra/config.ts), the environment each
 * function gets (infra/proxy-functions.ts) and the docs test derive from these entries. Each entry
 * is its own constant, so a function's bundle keeps only the ones it reads.
 */

export const CLIENT_AUTH_METHODS = ['client_secret_post', 'client_secret_basic', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];
export const SECRET_METHODS = ['client_secret_post', 'client_secret_basic'] as const;

export const KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export type KeySpecName = (typeof KEY_SPECS)[number];

/**
 * The client assertion key (private_key_jwt): `separate` signs assertions with its own key (one key
 * pair per purpose), `shared` with the request object key, `published` creates the own key and
 * publishes it while the request object key still signs (the first step from `shared`, or from a
 * client secret, to `separate`: docs/deploy.md, "Upgrading").
 */
export const ASSERTION_KEY_MODES = ['separate', 'shared', 'published'] as const;
export type AssertionKeyMode = (typeof ASSERTION_KEY_MODES)[number];

/** Generation numbers end up in construct ids, aliases and output names; 999 leaves room for decades. */
export const MAX_KEY_GENERATION = 999;
const MAX_RESERVED_CONCURRENCY = 100_000;

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-)?[0-9a-f-]{32,36}$/;
// A complete ARN ends with the 6-character suffix Secrets Manager adds; only that names one secret
// exactly, so the grant needs no `-??????` wildcard.
const SECRET_COMPLETE_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
// What aws:PrincipalArn holds for an IAM role (its ARN with path, not a session's) or user.
const IAM_PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

const signingAlg = (raw: string): SigningAlg => oneOf(raw, Object.keys(SIGNING_ALGS) as SigningAlg[]);

/** Generations of a key (docs/key-rotation.md): ascending, unique, from 1 to 999. */
function generations(raw: string): number[] {
  const listed: number[] = [];
  for (const item of raw.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    if (!/^\d+$/.test(item) || Number(item) < 1 || Number(item) > MAX_KEY_GENERATION) {
      invalid(`must list generations as integers from 1 to ${MAX_KEY_GENERATION}, got ${item}`);
    }
    if (listed.includes(Number(item))) invalid(`lists generation ${Number(item)} twice`);
    listed.push(Number(item));
  }
  return listed.sort((a, b) => a - b);
}

/**
 * `off` (or `none`) reserves nothing; else `name=N` pairs over the functions' own figures
 * (functions/manifest.ts). 0 is refused: Lambda would then never run the function.
 */
function reservations(raw: string): Readonly<Record<FunctionName, number>> | 'off' {
  if (raw === 'off' || raw === 'none') return 'off';
  const values = defaultReservations();
  const seen = new Set<string>();
  for (const item of list(raw, (part) => part)) {
    const match = /^([^=\s]+)\s*=\s*(\S+)$/.exec(item);
    if (match === null) invalid(`must be off, none, or name=N pairs such as par=100,token=50, got ${item}`);
    const [, name, count] = match as unknown as [string, string, string];
    if (!FUNCTIONS.some((fn) => fn.name === name)) {
      invalid(`names a function that does not exist: ${name} (one of ${FUNCTIONS.map((fn) => fn.name).join(', ')})`);
    }
    if (seen.has(name)) invalid(`sets ${name} twice`);
    seen.add(name);
    if (count === '0') invalid(`${name}=0 would stop the function from running at all; use off to reserve nothing`);
    if (!/^\d+$/.test(count) || Number(count) < 1 || Number(count) > MAX_RESERVED_CONCURRENCY) {
      invalid(`${name} must be an integer from 1 to ${MAX_RESERVED_CONCURRENCY}, got ${count}`);
    }
    values[name as FunctionName] = Number(count);
  }
  return values;
}

/** Each function's own reserved concurrency (functions/manifest.ts): `reservedConcurrency` unset. */
export function defaultReservations(): Record<FunctionName, number> {
  return Object.fromEntries(FUNCTIONS.map((fn) => [fn.name, fn.reservedConcurrency])) as Record<FunctionName, number>;
}

// ---------------------------------------------------------------------------------------------
// What the functions read. `fromStack`: the stack sets it from a resource it creates.

export const ISSUER = {
  env: 'ISSUER',
  context: 'issuer',
  readBy: ['oauth-client'],
  // The request object's `aud`: kept exactly as given (Auth0 wants the trailing slash).
  rule: (raw, at) => url(raw, at, { authorizationServer: true, issuer: true }),
  required: true,
  example: 'https://tenant.auth0.com/',
} as const satisfies Setting;

export const CLIENT_ID = {
  env: 'CLIENT_ID',
  context: 'clientId',
  readBy: ['oauth-client'],
  rule: (raw) => printable(raw, 255),
  required: true,
  example: 'abc123',
} as const satisfies Setting;

export const CLIENT_AUTH_METHOD = {
  env: 'CLIENT_AUTH_METHOD',
  context: 'clientAuthMethod',
  readBy: ['oauth-client'],
  rule: (raw) => oneOf(raw, CLIENT_AUTH_METHODS),
  default: 'client_secret_post',
} as const satisfies Setting;

export const CLIENT_SECRET_ID = {
  env: 'CLIENT_SECRET_ID',
  fromStack: true,
  readBy: ['oauth-client'],
  rule: (raw) => raw,
  required: { setting: CLIENT_AUTH_METHOD, is: SECRET_METHODS },
} as const satisfies Setting;

export const ALLOWED_ORIGINS = {
  env: 'ALLOWED_ORIGINS',
  context: 'allowedOrigins',
  readBy: ['spa', 'session'],
  // Required: a function that answers browsers with no origin allowed would refuse every SPA.
  rule: (raw, at) => list(raw, (origin) => url(origin, at, { origin: true })),
  required: true,
  example: 'https://app.example.com',
} as const satisfies Setting;

export const PROXY_MODES = ['relay', 'bff'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

/**
 * relay: /par and /token hand the tokens to the SPA's JavaScript. bff: the proxy redeems the code and
 * keeps the tokens in a sealed HttpOnly cookie. It decides which functions are deployed
 * (functions/manifest.ts); the bff function reads it to refuse a relay configuration. Declared ahead
 * of the settings whose conditions name it.
 */
export const PROXY_MODE = {
  env: 'PROXY_MODE',
  context: 'proxyMode',
  readBy: ['session'],
  rule: (raw) => oneOf(raw, PROXY_MODES),
  default: 'relay',
} as const satisfies Setting;

const IN_RELAY_MODE = { setting: PROXY_MODE, is: ['relay'] } as const;
const IN_BFF_MODE = { setting: PROXY_MODE, is: ['bff'] } as const;

export const ALLOWED_REDIRECT_URIS = {
  env: 'ALLOWED_REDIRECT_URIS',
  context: 'allowedRedirectUris',
  readBy: ['spa'],
  // Compared exactly (RFC 9700 2.1), so kept as written.
  rule: (raw, at) => list(raw, (uri) => url(uri, at)),
  // By relay's functions: the bff has one redirect URI, its own (REDIRECT_URI).
  required: IN_RELAY_MODE,
  example: 'https://app.example.com/callback',
} as const satisfies Setting;

/** The request object key; with private_key_jwt, also the assertion key unless CLIENT_ASSERTION_KMS_KEY_ID names one. */
export const KMS_KEY_ID = {
  env: 'KMS_KEY_ID',
  fromStack: true,
  readBy: ['request-objects', 'oauth-client', 'publish-keys'],
  rule: (raw) => raw,
  required: true,
} as const satisfies Setting;

export const SIGNING_ALG = {
  env: 'SIGNING_ALG',
  context: 'signingAlg',
  readBy: ['request-objects', 'oauth-client', 'publish-keys'],
  rule: signingAlg,
  default: 'PS256',
} as const satisfies Setting;

/** When absent, the RFC 7638 thumbprint of the key (one GetPublicKey per container). */
export const SIGNING_KID = {
  env: 'SIGNING_KID',
  context: 'signingKid',
  readBy: ['request-objects', 'oauth-client', 'publish-keys'],
  rule: kid,
} as const satisfies Setting;

export const CLIENT_ASSERTION_KMS_KEY_ID = {
  env: 'CLIENT_ASSERTION_KMS_KEY_ID',
  fromStack: true,
  readBy: ['oauth-client', 'publish-keys'],
  rule: (raw) => raw,
} as const satisfies Setting;

export const CLIENT_ASSERTION_KID = {
  env: 'CLIENT_ASSERTION_KID',
  context: 'assertionKid',
  readBy: ['oauth-client', 'publish-keys'],
  rule: kid,
} as const satisfies Setting;

/** Keys the JWKS publishes that sign nothing (yet, or any more): rotation. */
export const PUBLISHED_KMS_KEY_IDS = {
  env: 'PUBLISHED_KMS_KEY_IDS',
  fromStack: true,
  readBy: ['publish-keys'],
  rule: (raw) => list(raw, (id) => id),
} as const satisfies Setting;

export const PAR_ENDPOINT = {
  env: 'PAR_ENDPOINT',
  context: 'parEndpoint',
  readBy: ['request-objects'],
  rule: (raw, at) => url(raw, at, { authorizationServer: true, normalise: true }),
} as const satisfies Setting;

export const AUTHORIZATION_ENDPOINT = {
  env: 'AUTHORIZATION_ENDPOINT',
  context: 'authorizationEndpoint',
  readBy: ['request-objects'],
  rule: (raw, at) => url(raw, at, { authorizationServer: true, normalise: true }),
} as const satisfies Setting;

export const TOKEN_ENDPOINT = {
  env: 'TOKEN_ENDPOINT',
  context: 'tokenEndpoint',
  // Relay's /par names it to the SPA with DPOP=true: the htu of the SPA's proofs (RFC 9449 4.2).
  readBy: ['token-endpoint', 'spa'],
  rule: (raw, at) => url(raw, at, { authorizationServer: true, normalise: true }),
} as const satisfies Setting;

export const REQUEST_OBJECT_TTL = {
  env: 'REQUEST_OBJECT_TTL',
  context: 'requestObjectTtl',
  readBy: ['request-objects'],
  // FAPI 2.0 wants exp - nbf <= 60 min and request_uri lifetimes under 600 s; 600 s is plenty.
  rule: (raw) => integer(raw, 10, 600),
  default: '60',
} as const satisfies Setting;

export const ALLOWED_AUTHORIZATION_DETAILS_TYPES = {
  env: 'ALLOWED_AUTHORIZATION_DETAILS_TYPES',
  context: 'allowedAuthorizationDetailsTypes',
  readBy: ['request-objects'],
  rule: (raw) => list(raw, (type) => printable(type, 128, false)),
} as const satisfies Setting;

/** A silent login anyone reaching /par could start for a user's browser: off unless asked for (SECURITY.md). */
export const ALLOW_PROMPT_NONE = {
  env: 'ALLOW_PROMPT_NONE',
  context: 'allowPromptNone',
  readBy: ['request-objects'],
  rule: boolean,
  default: 'false',
} as const satisfies Setting;

/**
 * DPoP (RFC 9449), in both modes. relay: the SPA's key binds the code (dpop_jkt), /token forwards its
 * proofs, and the refresh tokens it hands the SPA are sealed to that key (core/refresh-binding.ts).
 * bff: the proxy binds the tokens to a key per login, sealed in the session (core/dpop-proof.ts).
 * The authorization server must issue DPoP tokens.
 */
export const DPOP = {
  env: 'DPOP',
  context: 'dpop',
  readBy: ['spa', 'session'],
  rule: boolean,
  default: 'false',
} as const satisfies Setting;

export const UPSTREAM_TIMEOUT_MS = {
  env: 'UPSTREAM_TIMEOUT_MS',
  context: 'upstreamTimeoutMs',
  readBy: 'all',
  // At most 8 s: the request budget inside the 10 s function timeout.
  rule: (raw) => integer(raw, 100, 8000),
  default: '3000',
} as const satisfies Setting;

export const SECURITY_PROFILES = ['none', 'fapi2'] as const;

/**
 * `fapi2`: the FAPI 2.0 Security Profile (and Message Signing where chosen). It fixes PS256 and
 * private_key_jwt (a contradicting value fails the start, functions/settings/profile.ts), requires
 * iss on every authorization response (RFC 9207), makes JARM the bff's default and DPoP-bound tokens
 * the rule.
 */
export const SECURITY_PROFILE = {
  env: 'SECURITY_PROFILE',
  context: 'securityProfile',
  readBy: ['oauth-client'],
  rule: (raw) => oneOf(raw, SECURITY_PROFILES),
  default: 'none',
} as const satisfies Setting;

// ---------------------------------------------------------------------------------------------
// The bff mode (RFC 10017 6.1): the function that holds the session (functions/bff/).

/** The proxy's own /callback (BASE_PATH + /callback), absolute: registered at the authorization server. */
export const REDIRECT_URI = {
  env: 'REDIRECT_URI',
  context: 'redirectUri',
  readBy: ['session'],
  rule: (raw, at) => url(raw, at),
  required: IN_BFF_MODE,
  example: 'https://app.example.com/callback',
  appliesWhen: IN_BFF_MODE,
} as const satisfies Setting;

/** Secrets Manager: the session key material. AWSCURRENT seals, AWSCURRENT and AWSPREVIOUS open. */
export const SESSION_KEYS_SECRET_ID = {
  env: 'SESSION_KEYS_SECRET_ID',
  fromStack: true,
  // Relay's token function reads it only with DPOP=true (functions/core/config.ts loadTokenConfig).
  readBy: ['session', 'refresh-binding'],
  rule: (raw) => raw,
  required: IN_BFF_MODE,
} as const satisfies Setting;

/** Where the browser goes after the callback and on errors; default: REDIRECT_URI's origin. */
export const APP_URL = {
  env: 'APP_URL',
  context: 'appUrl',
  readBy: ['session'],
  rule: (raw, at) => url(raw, at),
  appliesWhen: IN_BFF_MODE,
} as const satisfies Setting;

/** RP-Initiated Logout 1.0 2: where the authorization server sends the user after logout (registered there). */
export const POST_LOGOUT_REDIRECT_URI = {
  env: 'POST_LOGOUT_REDIRECT_URI',
  context: 'postLogoutRedirectUri',
  readBy: ['session'],
  rule: (raw, at) => url(raw, at),
  appliesWhen: IN_BFF_MODE,
} as const satisfies Setting;

/** JSON: API name -> base URL, or {"url", "methods"}: the only places /api/{name}/ forwards to. */
export const API_UPSTREAMS = {
  env: 'API_UPSTREAMS',
  context: 'apiUpstreams',
  readBy: ['session'],
  rule: (raw): ApiUpstreams => {
    try {
      return parseApiUpstreams(raw, 'API_UPSTREAMS');
    } catch (error) {
      if (error instanceof ConfigError) return invalid(error.message.replace(/^API_UPSTREAMS: /, ''));
      throw error;
    }
  },
  appliesWhen: IN_BFF_MODE,
} as const satisfies Setting;

/** Seconds: the session's absolute lifetime. A working day; at most the 400 days browsers keep a cookie. */
export const SESSION_MAX_AGE = {
  env: 'SESSION_MAX_AGE',
  context: 'sessionMaxAge',
  readBy: ['session'],
  rule: (raw) => integer(raw, 300, 400 * 24 * 3600),
  default: '28800',
  appliesWhen: IN_BFF_MODE,
} as const satisfies Setting;

/**
 * The bff's authorization responses: `query` (code, state and iss in the callback's query) or `jwt`
 * (JARM: one signed `response` JWT). Default `jwt` with SECURITY_PROFILE=fapi2, else `query`.
 */
export const RESPONSE_MODE = {
  env: 'RESPONSE_MODE',
  context: 'responseMode',
  readBy: ['session'],
  rule: (raw) => oneOf(raw, ['query', 'jwt'] as const),
  appliesWhen: IN_BFF_MODE,
} as const satisfies Setting;

export const SESSION_STORES = ['cookie', 'dynamodb'] as const;
export type SessionStoreKind = (typeof SESSION_STORES)[number];
/**
 * Where the bff keeps a session: `cookie`, sealed in the browser's cookie (no state on the server);
 * `dynamodb`, in a table, the cookie holding only a random id: logout and back-channel logout end
 * it at once, timeouts are the server's, and refreshes are coordinated (README, "Session store").
 */
export const SESSION_STORE = {
  env: 'SESSION_STORE',
  context: 'sessionStore',
  readBy: ['session'],
  rule: (raw) => oneOf(raw, SESSION_STORES),
  default: 'cookie',
  appliesWhen: IN_BFF_MODE,
} as const satisfies Setting;
const IN_TABLE = { setting: SESSION_STORE, is: ['dynamodb'] } as const;
/** The session table; the stack creates it with sessionStore=dynamodb. */
export const SESSION_TABLE_NAME = {
  env: 'SESSION_TABLE_NAME',
  fromStack: true,
  readBy: ['session'],
  rule: (raw) => matching(raw, /^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)'),
  required: IN_TABLE,
} as const satisfies Setting;
/** Seconds without a request after which a server-side session ends (to within a tenth, at most 5 minutes). */
export const SESSION_IDLE_TIMEOUT = {
  env: 'SESSION_IDLE_TIMEOUT',
  context: 'sessionIdleTimeout',
  readBy: ['session'],
  rule: (raw) => integer(raw, 300, 400 * 24 * 3600),
  default: '3600',
  appliesWhen: IN_TABLE,
} as const satisfies Setting;

/** A prefix of every bff route, so that one path pattern can be routed to the proxy at an edge. */
export const BASE_PATH = {
  env: 'BASE_PATH',
  context: 'basePath',
  readBy: ['session'],
  rule: (raw) => {
    const path = matching(raw, /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/, 'must be a path such as /auth: segments of letters, digits and -._~, no trailing slash');
    if (path.split('/').some((segment) => segment === '.' || segment === '..')) invalid('must not contain . or .. segments');
    return path;
  },
  appliesWhen: IN_BFF_MODE,
} as const satisfies Setting;

/**
 * Secrets Manager: the origin secret CloudFront sends as `x-origin-verify` (infra/edge.ts). Set by
 * the stack only with the edge; then every function refuses a request without it. AWSCURRENT and
 * AWSPREVIOUS are accepted, so a rotation refuses nothing (docs/deploy.md).
 */
export const ORIGIN_SECRET_ID = {
  env: 'ORIGIN_SECRET_ID',
  fromStack: true,
  readBy: 'all',
  rule: (raw) => raw,
} as const satisfies Setting;

/**
 * REDIRECT_URI is the bff's own /callback, under BASE_PATH (`basePath` '' when unset): why it is not,
 * or undefined. The function checks it at cold start, the deployment at synthesis.
 */
export function ownCallbackProblem(redirectUri: string, basePath: string): string | undefined {
  const callback = new URL(redirectUri);
  if (callback.pathname === `${basePath}/callback` && callback.search === '') return undefined;
  return `must be this proxy's own callback, ending in ${basePath}/callback (the base path + /callback), got ${redirectUri}`;
}

/** Every setting with an environment variable, in the order the docs list them. */
export const FUNCTION_SETTINGS: readonly Setting[] = [
  ISSUER,
  PAR_ENDPOINT,
  AUTHORIZATION_ENDPOINT,
  TOKEN_ENDPOINT,
  CLIENT_ID,
  CLIENT_SECRET_ID,
  CLIENT_AUTH_METHOD,
  KMS_KEY_ID,
  SIGNING_ALG,
  SIGNING_KID,
  ALLOWED_REDIRECT_URIS,
  ALLOWED_ORIGINS,
  REQUEST_OBJECT_TTL,
  CLIENT_ASSERTION_KMS_KEY_ID,
  CLIENT_ASSERTION_KID,
  PUBLISHED_KMS_KEY_IDS,
  ALLOWED_AUTHORIZATION_DETAILS_TYPES,
  ALLOW_PROMPT_NONE,
  DPOP,
  UPSTREAM_TIMEOUT_MS,
  SECURITY_PROFILE,
  PROXY_MODE,
  REDIRECT_URI,
  SESSION_KEYS_SECRET_ID,
  APP_URL,
  POST_LOGOUT_REDIRECT_URI,
  API_UPSTREAMS,
  SESSION_MAX_AGE,
  RESPONSE_MODE,
  SESSION_STORE,
  SESSION_TABLE_NAME,
  SESSION_IDLE_TIMEOUT,
  BASE_PATH,
  ORIGIN_SECRET_ID,
];

/** The settings `fn` reads: those of its capabilities. */
export function settingsOf(fn: FunctionSpec): Setting[] {
  return FUNCTION_SETTINGS.filter((setting) => setting.readBy === 'all' || hasCapability(fn, setting.readBy ?? []));
}

// ---------------------------------------------------------------------------------------------
// What only the deployment reads (CDK context, no variable).

export const STACK_NAME = {
  context: 'stackName',
  // Also prefixes the key aliases, alarms and dashboard.
  rule: (raw) => matching(raw, /^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must start with a letter and hold only letters, digits and hyphens (at most 128)'),
  default: 'ParProxy',
} as const satisfies Setting;

export const KEY_SPEC = {
  context: 'keySpec',
  rule: (raw) => oneOf(raw, KEY_SPECS),
  default: 'RSA_2048',
} as const satisfies Setting;

export const SIGNING_KEY_GENERATIONS = {
  context: 'signingKeyGenerations',
  rule: generations,
  default: '1',
} as const satisfies Setting;

/** Default: the lowest listed generation, so adding one publishes it and never makes it sign. */
export const ACTIVE_SIGNING_KEY = {
  context: 'activeSigningKey',
  rule: (raw) => integer(raw, 1, MAX_KEY_GENERATION),
} as const satisfies Setting;

/** Default: `separate` with private_key_jwt; none otherwise (infra/config.ts). */
export const ASSERTION_KEY = {
  context: 'assertionKey',
  rule: (raw): AssertionKeyMode => {
    if (raw === 'true' || raw === 'false') {
      invalid(`now takes ${ASSERTION_KEY_MODES.join(', ')}, got ${raw}: for the second key of private_key_jwt, assertionKey=separate (the default); to publish it before it signs, assertionKey=published; for one key, assertionKey=shared (docs/deploy.md, "Upgrading")`);
    }
    return oneOf(raw, ASSERTION_KEY_MODES);
  },
} as const satisfies Setting;

export const ASSERTION_KEY_GENERATIONS = {
  context: 'assertionKeyGenerations',
  rule: generations,
  default: '1',
} as const satisfies Setting;

export const ACTIVE_ASSERTION_KEY = {
  context: 'activeAssertionKey',
  rule: (raw) => integer(raw, 1, MAX_KEY_GENERATION),
} as const satisfies Setting;

/** An existing secret; when absent (and a secret is needed) the stack creates one. */
export const CLIENT_SECRET_ARN = {
  context: 'clientSecretArn',
  rule: (raw) => matching(raw, SECRET_COMPLETE_ARN, 'must be the complete ARN of a Secrets Manager secret (ending in -XXXXXX), as `aws secretsmanager describe-secret` prints it'),
  appliesWhen: { setting: CLIENT_AUTH_METHOD, is: SECRET_METHODS },
} as const satisfies Setting;

/** An IAM role or user that may read the created client secret besides the functions' roles. */
export const BREAK_GLASS_PRINCIPAL_ARN = {
  context: 'breakGlassPrincipalArn',
  rule: (raw) => matching(raw, IAM_PRINCIPAL_ARN, 'must be an IAM role or user ARN such as arn:aws:iam::123456789012:role/BreakGlass (not an assumed-role session, a wildcard or root)'),
  appliesWhen: { setting: CLIENT_AUTH_METHOD, is: SECRET_METHODS },
} as const satisfies Setting;

export const ALARM_EMAIL = {
  context: 'alarmEmail',
  rule: (raw) => matching(raw, /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/, 'is not an e-mail address'),
} as const satisfies Setting;

/** KMS keys managed outside this stack that the JWKS also publishes (rotation of such keys). */
export const PUBLISHED_KEY_ARNS = {
  context: 'publishedKeyArns',
  rule: (raw) => list(raw, (arn) => matching(arn, KMS_KEY_ARN, 'must hold KMS key ARNs (not aliases)')),
} as const satisfies Setting;

/** Let the account's IAM principals call kms:GetPublicKey (the JWKS endpoint publishes it anyway). */
export const PUBLIC_KEY_READ_BY_ACCOUNT = {
  context: 'publicKeyReadByAccount',
  rule: boolean,
  default: 'false',
} as const satisfies Setting;

export const MEMORY_SIZE = {
  context: 'memorySize',
  rule: (raw) => integer(raw, 128, 10_240),
  default: '512',
} as const satisfies Setting;

/** Default: each function's own figure; 170 in all, of a standard account's 1000 (docs/deploy.md, "Figures"). */
export const RESERVED_CONCURRENCY = {
  context: 'reservedConcurrency',
  rule: reservations,
} as const satisfies Setting;

// Auth0 allows 100 PAR requests per second per source IP; every /par is one KMS Sign out of an
// account-wide 500 RSA operations per second. 50/s steady with bursts of 100 stays under both.
export const THROTTLE_RATE_LIMIT = {
  context: 'throttleRateLimit',
  rule: (raw) => integer(raw, 1, 10_000),
  default: '50',
} as const satisfies Setting;

export const THROTTLE_BURST_LIMIT = {
  context: 'throttleBurstLimit',
  rule: (raw) => integer(raw, 1, 5_000),
  default: '100',
} as const satisfies Setting;

// The edge (issue 13): one CloudFront origin for the SPA and the proxy (infra/edge.ts).

/** `true`: a CloudFront distribution serves the SPA and the proxy's routes on one origin. */
export const EDGE = {
  context: 'edge',
  // A string, not `boolean`: the settings below apply under a condition on its value.
  rule: (raw) => oneOf(raw, ['true', 'false'] as const),
  default: 'false',
} as const satisfies Setting;

const WITH_EDGE = { setting: EDGE, is: ['true'] } as const;

/** A local build folder of the SPA, uploaded to the edge's bucket at deploy time. */
export const SPA_PATH = {
  context: 'spaPath',
  rule: (raw) => printable(raw, 1024),
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

/** An existing https origin serving the SPA, instead of the edge's bucket. */
export const SPA_ORIGIN = {
  context: 'spaOrigin',
  rule: (raw, at) => {
    const origin = url(raw, at, { origin: true });
    // CloudFront fetches it from AWS: neither plain http nor this machine's loopback.
    if (!origin.startsWith('https://') || LOOPBACK_ORIGIN.test(origin)) invalid(`must be an https origin CloudFront can reach, got ${raw}`);
    return origin;
  },
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

const LOOPBACK_ORIGIN = /^https:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/**
 * The SPA's Content-Security-Policy at the edge. The default allows only the site itself; leaving
 * for the authorization server is a navigation, which no CSP directive restricts (form-action is
 * left out for that reason: it would also govern a form's redirect to the authorization server).
 */
export const CONTENT_SECURITY_POLICY = {
  context: 'contentSecurityPolicy',
  rule: (raw) => printable(raw, 1783),
  default: "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; connect-src 'self'",
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

/**
 * A DNS name the SPA and the proxy answer on, instead of `<id>.cloudfront.net`: lower-case labels of
 * letters, digits and hyphens, no trailing dot, no wildcard (one name, one certificate).
 */
const DNS_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const dnsName = (raw: string) => matching(raw, DNS_NAME, 'must be a lower-case DNS name such as app.example.com (no scheme, port, path, trailing dot or wildcard)');
const ACM_CERTIFICATE_ARN = /^arn:aws:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The edge's custom domain (with certificateArn; docs/deploy.md, "Custom domain"). */
export const DOMAIN_NAME = {
  context: 'domainName',
  rule: dnsName,
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

/** CloudFront takes a viewer certificate only from ACM in us-east-1, whatever the stack's region. */
export const CERTIFICATE_ARN = {
  context: 'certificateArn',
  rule: (raw) => {
    const region = ACM_CERTIFICATE_ARN.exec(raw)?.[1];
    if (region === undefined) invalid(`must be the ARN of an ACM certificate, arn:aws:acm:us-east-1:<account>:certificate/<id>, got ${raw}`);
    if (region !== 'us-east-1') invalid(`must be an ACM certificate in us-east-1, where CloudFront reads its certificates, got one in ${region}: request or import it there`);
    return raw;
  },
  appliesWhen: WITH_EDGE,
  example: 'arn:aws:acm:us-east-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab',
} as const satisfies Setting;

/** A Route 53 public hosted zone for domainName's alias records; named with hostedZoneName, so nothing is looked up. */
export const HOSTED_ZONE_ID = {
  context: 'hostedZoneId',
  rule: (raw) => matching(raw, /^Z[A-Z0-9]{1,31}$/, 'must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ'),
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

export const HOSTED_ZONE_NAME = {
  context: 'hostedZoneName',
  // Route 53 prints zone names with the root's trailing dot.
  rule: (raw) => dnsName(raw.replace(/\.$/, '')),
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

/** HSTS `preload`: an opt-in, as a preload list entry takes months to leave (docs/deploy.md). */
export const HSTS_PRELOAD = {
  context: 'hstsPreload',
  rule: boolean,
  default: 'false',
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

// The edge's web ACL (AWS WAF, infra/firewall.ts): per source IP, over one evaluation window.
// Auth0 allows 100 PAR requests/s per source IP and KMS 500 RSA signatures/s per account: one IP is
// held far below both (and below the stage throttle), with room for an office behind one NAT.

/** WAF's own bounds for a rate-based rule's limit. */
const wafRateLimit = (raw: string) => integer(raw, 10, 2_000_000_000);

/** Requests per source IP to the login routes (manifest `login`) in one window: 1000 in 5 minutes, 3.3/s, 500 sign-ins from one NAT. */
export const WAF_LOGIN_RATE_LIMIT = {
  context: 'wafLoginRateLimit',
  rule: wafRateLimit,
  default: '1000',
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

/** Requests per source IP to anything on the distribution in one window: 6000 in 5 minutes, 20/s. */
export const WAF_RATE_LIMIT = {
  context: 'wafRateLimit',
  rule: wafRateLimit,
  default: '6000',
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

/** The rate rules' evaluation window in seconds: one of the four WAF offers. */
export const WAF_RATE_WINDOW = {
  context: 'wafRateWindow',
  rule: (raw) => Number(oneOf(raw, ['60', '120', '300', '600'] as const)),
  default: '300',
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

/**
 * The version of the origin secret CloudFront sends: CloudFormation resolves a dynamic reference
 * again only when its text changes, so a rotation names the new version here (docs/deploy.md).
 * Default: AWSCURRENT as of the distribution's last update.
 */
export const ORIGIN_SECRET_VERSION_ID = {
  context: 'originSecretVersionId',
  rule: (raw) => matching(raw, /^[A-Za-z0-9-]{32,64}$/, 'must be a Secrets Manager VersionId, as put-secret-value prints it (32 to 64 letters, digits and hyphens)'),
  appliesWhen: WITH_EDGE,
} as const satisfies Setting;

export const DEPLOYMENT_SETTINGS: readonly Setting[] = [
  STACK_NAME,
  KEY_SPEC,
  SIGNING_KEY_GENERATIONS,
  ACTIVE_SIGNING_KEY,
  ASSERTION_KEY,
  ASSERTION_KEY_GENERATIONS,
  ACTIVE_ASSERTION_KEY,
  CLIENT_SECRET_ARN,
  BREAK_GLASS_PRINCIPAL_ARN,
  ALARM_EMAIL,
  PUBLISHED_KEY_ARNS,
  PUBLIC_KEY_READ_BY_ACCOUNT,
  MEMORY_SIZE,
  RESERVED_CONCURRENCY,
  THROTTLE_RATE_LIMIT,
  THROTTLE_BURST_LIMIT,
  EDGE,
  SPA_PATH,
  SPA_ORIGIN,
  CONTENT_SECURITY_POLICY,
  DOMAIN_NAME,
  CERTIFICATE_ARN,
  HOSTED_ZONE_ID,
  HOSTED_ZONE_NAME,
  HSTS_PRELOAD,
  WAF_LOGIN_RATE_LIMIT,
  WAF_RATE_LIMIT,
  WAF_RATE_WINDOW,
  ORIGIN_SECRET_VERSION_ID,
];
