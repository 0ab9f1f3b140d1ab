import { FUNCTION_NAMES, type FunctionName } from './bundling.ts';

/**
 * The deployment's configuration, read from CDK context (`-c key=value` or cdk.json) into a typed
 * object before any construct is built. A missing or invalid value throws an InfraConfigError naming
 * the context key, so `cdk synth` stops with a message instead of deploying a proxy whose functions
 * would fail at cold start. The rules mirror the handlers' own (functions/core/config.ts).
 */

export const SIGNING_ALGS = ['PS256', 'RS256', 'RS384'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export const KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export type KeySpecName = (typeof KEY_SPECS)[number];

export const CLIENT_AUTH_METHODS = ['client_secret_post', 'client_secret_basic', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/**
 * The generations of one signing key (rotation, docs/key-rotation.md). Every listed generation is a
 * KMS key of the stack, published in the JWKS; `active` is the one that signs.
 */
export interface KeyGenerations {
  /** Ascending, unique, at least one. */
  readonly listed: readonly number[];
  /** One of `listed`. */
  readonly active: number;
}

/** Generation numbers end up in construct ids, aliases and output names; 999 leaves room for decades. */
export const MAX_KEY_GENERATION = 999;

export interface ThrottleConfig {
  /** Steady-state requests per second for the whole API. */
  readonly rateLimit: number;
  /** Requests API Gateway lets through at once above the rate. */
  readonly burstLimit: number;
}

export interface InfraConfig {
  readonly stackName: string;
  /** The authorization server's issuer, exactly as its discovery document spells it. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientAuthMethod: ClientAuthMethod;
  readonly allowedOrigins: readonly string[];
  readonly allowedRedirectUris: readonly string[];
  readonly signingAlg: SigningAlg;
  readonly keySpec: KeySpecName;
  /** The request object key's generations: all published, the active one signs. */
  readonly signingKeyGenerations: KeyGenerations;
  /** A fixed kid; when absent the functions derive the RFC 7638 thumbprint (one GetPublicKey per container). */
  readonly signingKid?: string;
  /** Complete ARN of an existing client secret; when absent (and a secret is needed) the stack creates one. */
  readonly clientSecretArn?: string;
  /** An IAM role or user that may read the created client secret besides the functions' roles. */
  readonly breakGlassPrincipalArn?: string;
  /** Create a second KMS key for client assertions (by default with private_key_jwt). */
  readonly assertionKey: boolean;
  /** The second key's generations (meaningful only with `assertionKey`; else generation 1). */
  readonly assertionKeyGenerations: KeyGenerations;
  readonly assertionKid?: string;
  /** With private_key_jwt: client assertions are signed with the request object key. */
  readonly sharedAssertionKey: boolean;
  readonly alarmEmail?: string;
  readonly parEndpoint?: string;
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
  readonly requestObjectTtl?: number;
  readonly upstreamTimeoutMs?: number;
  readonly allowedAuthorizationDetailsTypes: readonly string[];
  /** Let intents carry prompt=none (a silent login anyone reaching /par could start): off by default, SECURITY.md. */
  readonly allowPromptNone: boolean;
  /** KMS keys managed outside this stack that the JWKS also publishes (rotation of such keys). */
  readonly publishedKeyArns: readonly string[];
  /** Let the account's IAM principals call kms:GetPublicKey (the JWKS endpoint publishes it anyway). */
  readonly publicKeyReadByAccount: boolean;
  readonly memorySize: number;
  /** Reserved concurrent executions per function; undefined: none reserved. */
  readonly reservedConcurrency?: Readonly<Record<FunctionName, number>>;
  readonly throttle: ThrottleConfig;
}

/** Every context key the app reads; README, scripts and pipelines rely on these names. */
export const CONTEXT_KEYS = [
  'stackName',
  'issuer',
  'clientId',
  'clientAuthMethod',
  'allowedOrigins',
  'allowedRedirectUris',
  'signingAlg',
  'keySpec',
  'signingKeyGenerations',
  'activeSigningKey',
  'signingKid',
  'clientSecretArn',
  'breakGlassPrincipalArn',
  'assertionKey',
  'separateAssertionKey',
  'sharedAssertionKey',
  'assertionKeyGenerations',
  'activeAssertionKey',
  'assertionKid',
  'alarmEmail',
  'parEndpoint',
  'authorizationEndpoint',
  'tokenEndpoint',
  'requestObjectTtl',
  'upstreamTimeoutMs',
  'allowedAuthorizationDetailsTypes',
  'allowPromptNone',
  'publishedKeyArns',
  'publicKeyReadByAccount',
  'memorySize',
  'reservedConcurrency',
  'throttleRateLimit',
  'throttleBurstLimit',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** Defaults, with their reasons in docs/deploy.md ("Figures"). */
export const DEFAULTS = {
  stackName: 'ParProxy',
  memorySize: 512,
  // Auth0 allows 100 PAR requests per second per source IP; every /par is one KMS Sign out of an
  // account-wide 500 RSA operations per second. 50/s steady with bursts of 100 stays under both.
  throttleRateLimit: 50,
  throttleBurstLimit: 100,
  // 170 of a standard account's 1000 concurrent executions (Lambda keeps at least 100 unreserved):
  // par holds a whole stage burst at once, token half of it, jwks is cached by its readers.
  reservedConcurrency: { par: 100, token: 50, jwks: 20 },
} as const;

export class InfraConfigError extends Error {
  override readonly name = 'InfraConfigError';
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`CDK context "${key}" ${problem}`);
  }
}

export type ContextReader = (key: string) => unknown;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-)?[0-9a-f-]{32,36}$/;
// A complete ARN ends with the 6-character suffix Secrets Manager adds; only that names one secret
// exactly, so the grant needs no `-??????` wildcard.
const SECRET_COMPLETE_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;
const KID = /^[\x21-\x7e]{1,128}$/;
// What aws:PrincipalArn holds for an IAM role (its ARN with path, not a session's) or user.
const IAM_PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const CONCURRENCY_OFF = new Set(['off', 'none']);
const MAX_RESERVED_CONCURRENCY = 100_000;

function text(get: ContextReader, key: string): string | undefined {
  const raw = get(key);
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    throw new InfraConfigError(key, `must be a string, got ${JSON.stringify(raw)}`);
  }
  const value = String(raw).trim();
  return value === '' ? undefined : value;
}

function required(get: ContextReader, key: string, example: string): string {
  const value = text(get, key);
  if (value === undefined) throw new InfraConfigError(key, `is required, e.g. -c ${key}=${example}`);
  return value;
}

/** A comma-separated string (`-c key=a,b`) or, from cdk.json, an array of strings. */
function list(get: ContextReader, key: string): string[] {
  const raw = get(key);
  const items = Array.isArray(raw) ? raw : (text(get, key) ?? '').split(',');
  return items.map((item) => {
    if (typeof item !== 'string') throw new InfraConfigError(key, 'must be a comma-separated list of strings');
    return item.trim();
  }).filter((item) => item !== '');
}

function oneOf<T extends string>(get: ContextReader, key: string, allowed: readonly T[], fallback: T): T {
  const value = text(get, key) ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InfraConfigError(key, `must be one of ${allowed.join(', ')}, got ${value}`);
  }
  return value as T;
}

function integer(get: ContextReader, key: string, min: number, max: number): number | undefined {
  const value = text(get, key);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new InfraConfigError(key, `must be an integer from ${min} to ${max}, got ${value}`);
  }
  return Number(value);
}

function flag(get: ContextReader, key: string): boolean {
  const value = text(get, key);
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new InfraConfigError(key, `must be true or false, got ${value}`);
}

function kid(get: ContextReader, key: string): string | undefined {
  const value = text(get, key);
  if (value !== undefined && !KID.test(value)) throw new InfraConfigError(key, 'must be 1 to 128 printable ASCII characters');
  return value;
}

/**
 * `listKey` (e.g. `-c signingKeyGenerations=1,2`, or a cdk.json array) and `activeKey`. The default
 * active generation is the lowest listed: adding a generation publishes it and never makes it sign;
 * the switch is always an explicit `-c activeKey=N`.
 */
function generations(get: ContextReader, listKey: string, activeKey: string): KeyGenerations {
  const raw = get(listKey);
  const items = raw === undefined || raw === null ? [] : Array.isArray(raw) ? (raw as unknown[]) : [raw];
  const values: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string' && typeof item !== 'number') {
      throw new InfraConfigError(listKey, 'must be a comma-separated list of generation numbers, e.g. 1,2');
    }
    values.push(...String(item).split(',').map((value) => value.trim()).filter((value) => value !== ''));
  }
  const listed: number[] = [];
  for (const value of values) {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_KEY_GENERATION) {
      throw new InfraConfigError(listKey, `must list generations as integers from 1 to ${MAX_KEY_GENERATION}, got ${value}`);
    }
    if (listed.includes(Number(value))) throw new InfraConfigError(listKey, `lists generation ${Number(value)} twice`);
    listed.push(Number(value));
  }
  if (listed.length === 0) listed.push(1);
  listed.sort((a, b) => a - b);
  const active = integer(get, activeKey, 1, MAX_KEY_GENERATION) ?? listed[0]!;
  if (!listed.includes(active)) {
    throw new InfraConfigError(activeKey, `must be one of the generations ${listKey} lists (${listed.join(', ')}), got ${active}`);
  }
  return { listed, active };
}

/** True when the context sets `key` at all (an empty value counts as unset). */
function given(get: ContextReader, key: string): boolean {
  const raw = get(key);
  return Array.isArray(raw) ? raw.length > 0 : text(get, key) !== undefined;
}

/**
 * A fixed kid names one key. While two generations are published, the switch would hand that kid to
 * the other key, and a verifier holding the earlier JWKS would check the new signatures against the
 * old key: each key must keep its own kid, its RFC 7638 thumbprint.
 */
function kidForGenerations(kidKey: string, fixedKid: string | undefined, listKey: string, keys: KeyGenerations): void {
  if (fixedKid !== undefined && keys.listed.length > 1) {
    throw new InfraConfigError(
      kidKey,
      `must be unset while ${listKey} lists more than one generation: a fixed kid would name two keys. Leave it unset (each key's kid is then its RFC 7638 thumbprint), see docs/key-rotation.md`,
    );
  }
}

/**
 * `reservedConcurrency`: `off` (or `none`) reserves nothing; else `name=N` pairs, e.g. `par=200,jwks=10`,
 * over the defaults. 0 is refused: Lambda would then never run the function.
 */
function reservedConcurrency(get: ContextReader): Record<FunctionName, number> | undefined {
  const key = 'reservedConcurrency';
  const items = list(get, key);
  if (items.length === 1 && CONCURRENCY_OFF.has(items[0]!)) return undefined;
  const values: Record<FunctionName, number> = { ...DEFAULTS.reservedConcurrency };
  const seen = new Set<string>();
  for (const item of items) {
    const match = /^([^=\s]+)\s*=\s*(\S+)$/.exec(item);
    if (match === null) throw new InfraConfigError(key, `must be off, none, or name=N pairs such as par=100,token=50, got ${item}`);
    const [, name, count] = match as unknown as [string, string, string];
    if (!(FUNCTION_NAMES as readonly string[]).includes(name)) {
      throw new InfraConfigError(key, `names a function that does not exist: ${name} (one of ${FUNCTION_NAMES.join(', ')})`);
    }
    if (seen.has(name)) throw new InfraConfigError(key, `sets ${name} twice`);
    seen.add(name);
    if (count === '0') throw new InfraConfigError(key, `${name}=0 would stop the function from running at all; use off to reserve nothing`);
    if (!/^\d+$/.test(count) || Number(count) < 1 || Number(count) > MAX_RESERVED_CONCURRENCY) {
      throw new InfraConfigError(key, `${name} must be an integer from 1 to ${MAX_RESERVED_CONCURRENCY}, got ${count}`);
    }
    values[name as FunctionName] = Number(count);
  }
  return values;
}

/** An absolute https URL without fragment (http only for loopback hosts, when `loopback` allows it). */
function url(key: string, value: string, loopback: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new InfraConfigError(key, `is not an absolute URL: ${value}`);
  }
  const httpAllowed = loopback && parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname);
  if (parsed.protocol !== 'https:' && !httpAllowed) {
    throw new InfraConfigError(key, `must be an https URL${loopback ? ' (http only for localhost)' : ''}, got ${value}`);
  }
  if (value.includes('#')) throw new InfraConfigError(key, `must not have a fragment: ${value}`);
  return parsed;
}

function optionalUrl(get: ContextReader, key: string): string | undefined {
  const value = text(get, key);
  return value === undefined ? undefined : url(key, value, false).href;
}

/** The request object's `aud`: kept exactly as given (trailing slash included), never normalised. */
function issuer(get: ContextReader): string {
  const value = required(get, 'issuer', 'https://tenant.auth0.com/');
  const parsed = url('issuer', value, false);
  if (parsed.search !== '' || value.includes('?')) throw new InfraConfigError('issuer', 'must not have a query');
  return value;
}

function origins(get: ContextReader): string[] {
  const values = list(get, 'allowedOrigins');
  if (values.length === 0) throw new InfraConfigError('allowedOrigins', 'is required, e.g. -c allowedOrigins=https://app.example.com');
  for (const value of values) {
    if (url('allowedOrigins', value, true).origin !== value) {
      throw new InfraConfigError('allowedOrigins', `${value} is not an origin (lower-case scheme://host[:port], no path or trailing slash)`);
    }
  }
  return [...new Set(values)];
}

function redirectUris(get: ContextReader): string[] {
  const values = list(get, 'allowedRedirectUris');
  if (values.length === 0) {
    throw new InfraConfigError('allowedRedirectUris', 'is required, e.g. -c allowedRedirectUris=https://app.example.com/callback');
  }
  for (const value of values) url('allowedRedirectUris', value, true);
  return [...new Set(values)];
}

/**
 * Parses and checks the whole configuration. `get` reads one context key (in the app,
 * `(key) => app.node.tryGetContext(key)`), so this stays a pure function that tests call directly.
 */
export function parseInfraConfig(get: ContextReader): InfraConfig {
  if (get('clientSecret') !== undefined) {
    throw new InfraConfigError('clientSecret', 'must not be passed to CDK: it would land in the template and cdk.out. Put it in Secrets Manager (docs/deploy.md)');
  }
  const stackName = text(get, 'stackName') ?? DEFAULTS.stackName;
  if (!STACK_NAME.test(stackName)) {
    throw new InfraConfigError('stackName', 'must start with a letter and hold only letters, digits and hyphens (at most 128)');
  }
  const clientId = required(get, 'clientId', 'abc123');
  if (!/^[\x20-\x7e]{1,255}$/.test(clientId)) throw new InfraConfigError('clientId', 'must be 1 to 255 printable ASCII characters');
  const clientAuthMethod = oneOf(get, 'clientAuthMethod', CLIENT_AUTH_METHODS, 'client_secret_post');
  const usesSecret = clientAuthMethod !== 'private_key_jwt';

  const clientSecretArn = text(get, 'clientSecretArn');
  if (clientSecretArn !== undefined) {
    if (!usesSecret) throw new InfraConfigError('clientSecretArn', 'must not be set with clientAuthMethod=private_key_jwt (no secret is used)');
    if (!SECRET_COMPLETE_ARN.test(clientSecretArn)) {
      throw new InfraConfigError('clientSecretArn', 'must be the complete ARN of a Secrets Manager secret (ending in -XXXXXX), as `aws secretsmanager describe-secret` prints it');
    }
  }
  const breakGlassPrincipalArn = text(get, 'breakGlassPrincipalArn');
  if (breakGlassPrincipalArn !== undefined) {
    if (!usesSecret) throw new InfraConfigError('breakGlassPrincipalArn', 'must not be set with clientAuthMethod=private_key_jwt (no secret is used)');
    if (clientSecretArn !== undefined) {
      throw new InfraConfigError('breakGlassPrincipalArn', 'applies only to a secret the stack creates: for an imported secret, name it in the resource policy you apply by hand (docs/deploy.md)');
    }
    if (!IAM_PRINCIPAL_ARN.test(breakGlassPrincipalArn)) {
      throw new InfraConfigError('breakGlassPrincipalArn', `must be an IAM role or user ARN such as arn:aws:iam::123456789012:role/BreakGlass (not an assumed-role session, a wildcard or root), got ${breakGlassPrincipalArn}`);
    }
  }
  const separateAssertionKey = flag(get, 'separateAssertionKey');
  if (separateAssertionKey && usesSecret) {
    throw new InfraConfigError('separateAssertionKey', 'applies only with clientAuthMethod=private_key_jwt');
  }
  // One key pair per purpose: private_key_jwt gets its own key unless told to share the request object's.
  const sharedAssertionKey = flag(get, 'sharedAssertionKey');
  if (sharedAssertionKey && usesSecret) throw new InfraConfigError('sharedAssertionKey', 'applies only with clientAuthMethod=private_key_jwt');
  if (sharedAssertionKey && separateAssertionKey) throw new InfraConfigError('sharedAssertionKey', 'contradicts separateAssertionKey=true');
  // assertionKey=true with sharedAssertionKey=true: the second key is published but does not sign yet.
  const assertionKey = flag(get, 'assertionKey') || separateAssertionKey || (!usesSecret && !sharedAssertionKey);
  const assertionKid = kid(get, 'assertionKid');
  for (const key of ['assertionKid', 'assertionKeyGenerations', 'activeAssertionKey']) {
    if (given(get, key) && !assertionKey) {
      throw new InfraConfigError(key, 'needs a second key (clientAuthMethod=private_key_jwt without sharedAssertionKey, or assertionKey=true)');
    }
  }
  const signingKid = kid(get, 'signingKid');
  const signingKeyGenerations = generations(get, 'signingKeyGenerations', 'activeSigningKey');
  kidForGenerations('signingKid', signingKid, 'signingKeyGenerations', signingKeyGenerations);
  const assertionKeyGenerations = generations(get, 'assertionKeyGenerations', 'activeAssertionKey');
  kidForGenerations('assertionKid', assertionKid, 'assertionKeyGenerations', assertionKeyGenerations);
  const alarmEmail = text(get, 'alarmEmail');
  if (alarmEmail !== undefined && !EMAIL.test(alarmEmail)) throw new InfraConfigError('alarmEmail', `is not an e-mail address: ${alarmEmail}`);

  const publishedKeyArns = list(get, 'publishedKeyArns');
  for (const arn of publishedKeyArns) {
    if (!KMS_KEY_ARN.test(arn)) throw new InfraConfigError('publishedKeyArns', `must hold KMS key ARNs (not aliases), got ${arn}`);
  }
  const types = list(get, 'allowedAuthorizationDetailsTypes');
  for (const type of types) {
    if (!/^[\x21-\x7e]{1,128}$/.test(type)) throw new InfraConfigError('allowedAuthorizationDetailsTypes', `holds an invalid type: ${type}`);
  }
  const rateLimit = integer(get, 'throttleRateLimit', 1, 10_000) ?? DEFAULTS.throttleRateLimit;
  const burstLimit = integer(get, 'throttleBurstLimit', 1, 5_000) ?? DEFAULTS.throttleBurstLimit;

  const config: InfraConfig = {
    stackName,
    issuer: issuer(get),
    clientId,
    clientAuthMethod,
    allowedOrigins: origins(get),
    allowedRedirectUris: redirectUris(get),
    signingAlg: oneOf(get, 'signingAlg', SIGNING_ALGS, 'PS256'),
    keySpec: oneOf(get, 'keySpec', KEY_SPECS, 'RSA_2048'),
    signingKeyGenerations,
    signingKid,
    clientSecretArn,
    breakGlassPrincipalArn,
    assertionKey,
    assertionKeyGenerations,
    assertionKid,
    sharedAssertionKey,
    alarmEmail,
    parEndpoint: optionalUrl(get, 'parEndpoint'),
    authorizationEndpoint: optionalUrl(get, 'authorizationEndpoint'),
    tokenEndpoint: optionalUrl(get, 'tokenEndpoint'),
    // Same bounds as the handlers: FAPI 2.0 wants request_uri lifetimes under 600 s.
    requestObjectTtl: integer(get, 'requestObjectTtl', 10, 600),
    // At most 8 s: the request budget inside the 10 s function timeout.
    upstreamTimeoutMs: integer(get, 'upstreamTimeoutMs', 100, 8000),
    allowedAuthorizationDetailsTypes: types,
    allowPromptNone: flag(get, 'allowPromptNone'),
    publishedKeyArns: [...new Set(publishedKeyArns)],
    publicKeyReadByAccount: flag(get, 'publicKeyReadByAccount'),
    memorySize: integer(get, 'memorySize', 128, 10_240) ?? DEFAULTS.memorySize,
    reservedConcurrency: reservedConcurrency(get),
    throttle: { rateLimit, burstLimit },
  };
  return config;
}

/** True when the proxy authenticates to the authorization server with a client secret. */
export function usesClientSecret(config: Pick<InfraConfig, 'clientAuthMethod'>): boolean {
  return config.clientAuthMethod !== 'private_key_jwt';
}
