import { fapi2Problems } from '../functions/settings/profile.ts';
import type { SigningAlg } from '../functions/core/jws.ts';
import type { FunctionName } from '../functions/manifest.ts';
import { contextSource, settingsReader, type Problem, type Setting, type Settings, type Source } from '../functions/settings/reader.ts';
import {
  ACTIVE_ASSERTION_KEY,
  ACTIVE_SIGNING_KEY,
  ALARM_EMAIL,
  ALLOWED_ORIGINS,
  ALLOWED_REDIRECT_URIS,
  ASSERTION_KEY,
  ASSERTION_KEY_GENERATIONS,
  BASE_PATH,
  BREAK_GLASS_PRINCIPAL_ARN,
  CERTIFICATE_ARN,
  CLIENT_ASSERTION_KID,
  CLIENT_AUTH_METHOD,
  CLIENT_SECRET_ARN,
  CONTENT_SECURITY_POLICY,
  ORIGIN_SECRET_VERSION_ID,
  defaultReservations,
  DOMAIN_NAME,
  EDGE,
  DEPLOYMENT_SETTINGS,
  FUNCTION_SETTINGS,
  HOSTED_ZONE_ID,
  HOSTED_ZONE_NAME,
  HSTS_PRELOAD,
  KEY_SPEC,
  MEMORY_SIZE,
  ownCallbackProblem,
  PROXY_MODE,
  PUBLIC_KEY_READ_BY_ACCOUNT,
  PUBLISHED_KEY_ARNS,
  REDIRECT_URI,
  RESERVED_CONCURRENCY,
  SESSION_STORE,
  SIGNING_ALG,
  SIGNING_KEY_GENERATIONS,
  SIGNING_KID,
  SPA_ORIGIN,
  SPA_PATH,
  STACK_NAME,
  THROTTLE_BURST_LIMIT,
  THROTTLE_RATE_LIMIT,
  WAF_LOGIN_RATE_LIMIT,
  WAF_RATE_LIMIT,
  WAF_RATE_WINDOW,
  type AssertionKeyMode,
  type ClientAuthMethod,
  type ProxyMode,
  type KeySpecName,
} from '../functions/settings/table.ts';
import { InvalidSetting } from '../functions/settings/rules.ts';
import { sameSite } from './site.ts';

/**
 * The deployment's configuration, read from CDK context (`-c key=value` or cdk.json) into a typed
 * object before any construct is built, with the same rules the functions apply to their
 * environment (functions/settings/table.ts). Every missing or invalid value is collected into one
 * InfraConfigError naming the context keys, so `cdk synth` stops with one message instead of
 * deploying a proxy whose functions would fail at cold start.
 */

export type { AssertionKeyMode, ClientAuthMethod, KeySpecName, SigningAlg };

/** Every setting; those with a context key are what the app reads. */
export const SETTINGS: readonly Setting[] = [...FUNCTION_SETTINGS, ...DEPLOYMENT_SETTINGS];

/** Every context key the app reads; README, scripts and pipelines rely on these names. */
export const CONTEXT_KEYS: readonly string[] = SETTINGS.flatMap((setting) => setting.context ?? []);

/**
 * Keys the app refuses outright. The retired ones name what replaced them, so an old cdk.json fails
 * with the fix instead of meaning something else.
 */
export const REFUSED_CONTEXT_KEYS: Readonly<Record<string, string>> = {
  clientSecret: 'must not be passed to CDK: it would land in the template and cdk.out. Put it in Secrets Manager (docs/deploy.md)',
  sharedAssertionKey:
    'was replaced by assertionKey: sharedAssertionKey=true is now assertionKey=shared, and with assertionKey=true it is assertionKey=published (docs/deploy.md, "Upgrading")',
  separateAssertionKey: 'was replaced by assertionKey=separate, which is the default with private_key_jwt: remove it',
};

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

export interface ThrottleConfig {
  /** Steady-state requests per second for the whole API. */
  readonly rateLimit: number;
  /** Requests API Gateway lets through at once above the rate. */
  readonly burstLimit: number;
}

export interface InfraConfig {
  readonly stackName: string;
  /** Which functions are deployed (functions/manifest.ts). */
  readonly proxyMode: ProxyMode;
  /** bff mode: the prefix of the bff's routes ('' when unset), so that an edge can route one prefix to the API. */
  readonly basePath: string;
  readonly clientAuthMethod: ClientAuthMethod;
  readonly allowedOrigins: readonly string[];
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
  /** The client assertion key: `none` without one (a client secret, nothing published ahead). */
  readonly assertionKey: AssertionKeyMode | 'none';
  /** The second key's generations (meaningful only when there is one; else generation 1). */
  readonly assertionKeyGenerations: KeyGenerations;
  readonly assertionKid?: string;
  readonly alarmEmail?: string;
  /** KMS keys managed outside this stack that the JWKS also publishes (rotation of such keys). */
  readonly publishedKeyArns: readonly string[];
  /** Let the account's IAM principals call kms:GetPublicKey (the JWKS endpoint publishes it anyway). */
  readonly publicKeyReadByAccount: boolean;
  readonly memorySize: number;
  /** Reserved concurrent executions per function; undefined: none reserved. */
  readonly reservedConcurrency?: Readonly<Record<FunctionName, number>>;
  readonly throttle: ThrottleConfig;
  /** bff mode: where sessions live; `dynamodb` creates the session table (infra/session-table.ts). */
  readonly sessionStore: 'cookie' | 'dynamodb';
  /** The CloudFront distribution in front of the SPA and the proxy (infra/edge.ts); absent without `edge=true`. */
  readonly edge?: EdgeConfig;
  /**
   * The functions' variables the context sets, by name, as they read them: what the stack passes on
   * (each function gets those of its settings). Unset ones are left out, so the functions' defaults
   * (the same table) apply.
   */
  readonly environment: Readonly<Record<string, string>>;
}

export interface EdgeConfig {
  /** A local build folder uploaded to the SPA bucket. */
  readonly spaPath?: string;
  /** An existing https origin serving the SPA instead of the bucket. */
  readonly spaOrigin?: string;
  readonly contentSecurityPolicy: string;
  /** A custom domain instead of the distribution's `*.cloudfront.net` name. */
  readonly domain?: EdgeDomain;
  /** HSTS `preload` (needs the custom domain). */
  readonly hstsPreload: boolean;
  readonly firewall: FirewallConfig;
  /** The origin secret's version CloudFront sends (a rotation); unset: AWSCURRENT at the distribution's last update. */
  readonly originSecretVersionId?: string;
}

export interface EdgeDomain {
  readonly name: string;
  /** ACM, us-east-1. */
  readonly certificateArn: string;
  /** Where the A and AAAA alias records go; without it, the operator points a CNAME at the distribution. */
  readonly hostedZone?: { readonly id: string; readonly name: string };
}

/** The web ACL's per-IP rate rules (infra/firewall.ts). */
export interface FirewallConfig {
  /** Requests per source IP to the login routes in one window. */
  readonly loginRateLimit: number;
  /** Requests per source IP to anything in one window. */
  readonly rateLimit: number;
  /** The evaluation window, in seconds. */
  readonly windowSeconds: number;
}

/**
 * Behind the edge the SPA's origin is the site's (the custom domain, or the distribution's name known
 * only at deploy time), so the stack derives these keys (infra/par-proxy-stack.ts): the bff's own URLs,
 * and relay's one origin. relay's redirect URIs are the SPA's own routes, which stay required.
 */
const DERIVED_AT_THE_EDGE: Readonly<Record<ProxyMode, readonly Setting[]>> = { bff: [REDIRECT_URI, ALLOWED_ORIGINS], relay: [ALLOWED_ORIGINS] };

export class InfraConfigError extends Error {
  override readonly name = 'InfraConfigError';
  constructor(readonly problems: readonly Problem[]) {
    super(problems.map((problem) => `CDK context "${problem.name}" ${problem.reason}${exampleFor(problem)}`).join('\n'));
  }

  /** The context keys at fault, in the table's order. */
  get keys(): string[] {
    return this.problems.map((problem) => problem.name);
  }
}

function exampleFor(problem: Problem): string {
  const setting = problem.missing ? SETTINGS.find((candidate) => candidate.context === problem.name) : undefined;
  return setting?.example === undefined ? '' : `, e.g. -c ${problem.name}=${setting.example}`;
}

/** A command that synthesises, with every key required under the defaults (relay) set to an example value. */
export function exampleCommand(): string {
  const byDefault = (setting: Setting) =>
    setting.required === true ||
    (setting.required !== undefined && setting.required.is.includes(setting.required.setting.default as string));
  const required = SETTINGS.filter((setting) => setting.context !== undefined && byDefault(setting));
  return `npx cdk synth ${required.map((setting) => `-c ${setting.context}=${setting.example}`).join(' ')}`;
}

/** What `cdk synth` prints for a misconfiguration: every problem, then a command that works. */
export function formatConfigError(error: InfraConfigError): string {
  const count = error.problems.length;
  return [
    `Configuration error: ${count === 1 ? 'one CDK context value needs' : `${count} CDK context values need`} fixing:`,
    ...error.message.split('\n').map((line) => `  ${line}`),
    'For example:',
    `  ${exampleCommand()}`,
    'docs/deploy.md lists every context key.',
  ].join('\n');
}

export type ContextReader = (key: string) => unknown;

/**
 * Parses and checks the whole configuration. `get` reads one context key (in the app,
 * `(key) => app.node.tryGetContext(key)`), so this stays a pure function that tests call directly.
 */
export function parseInfraConfig(get: ContextReader): InfraConfig {
  const source = withEdgeDefaults(contextSource(get));
  const s = settingsReader('context', source);
  const problems: Problem[] = [];
  for (const [key, reason] of Object.entries(REFUSED_CONTEXT_KEYS)) {
    if (get(key) !== undefined) problems.push({ name: key, reason });
  }
  for (const setting of SETTINGS) if (setting.context !== undefined) s.get(setting);
  const mode = s.get(PROXY_MODE);
  const derived = s.get(EDGE) === 'true' && mode !== undefined ? DERIVED_AT_THE_EDGE[mode].map((setting) => setting.context) : [];
  problems.push(...s.problems.filter((problem) => !(problem.missing && derived.includes(problem.name))));
  problems.push(...fapi2Problems(s, 'context', CLIENT_SECRET_ARN));
  const config = deploymentConfig(s, source, problems);
  if (problems.length > 0) throw new InfraConfigError(order(problems));
  return config;
}

/**
 * With the edge, proxyMode defaults to bff: its cookie is first-party there, and it keeps the tokens
 * out of the SPA's JavaScript. Read as if given, so the bff function gets PROXY_MODE=bff.
 */
function withEdgeDefaults(source: Source): Source {
  const edge = (): string | undefined => {
    try {
      return source(EDGE.context);
    } catch (error) {
      if (error instanceof InvalidSetting) return undefined; // named as edge's own problem when edge is read
      throw error;
    }
  };
  return (key) => (key === PROXY_MODE.context && source(key) === undefined && edge() === 'true' ? 'bff' : source(key));
}

/** Refused keys first, then the table's order. */
function order(problems: readonly Problem[]): Problem[] {
  const rank = (problem: Problem) => (problem.name in REFUSED_CONTEXT_KEYS ? -1 : CONTEXT_KEYS.indexOf(problem.name));
  return [...problems].sort((a, b) => rank(a) - rank(b));
}

/** The rules between settings that only a deployment has, then the typed configuration. */
function deploymentConfig(s: Settings, source: Source, problems: Problem[]): InfraConfig {
  const refuse = (setting: Setting, reason: string) => problems.push({ name: setting.context!, reason });
  const clientAuthMethod = s.get(CLIENT_AUTH_METHOD);
  const usesSecret = clientAuthMethod !== 'private_key_jwt';
  const assertionKey = assertionKeyMode(s, clientAuthMethod, refuse);
  const secondKey = assertionKey === 'separate' || assertionKey === 'published';
  for (const setting of [CLIENT_ASSERTION_KID, ASSERTION_KEY_GENERATIONS, ACTIVE_ASSERTION_KEY]) {
    if (s.given(setting) && !secondKey && !s.failed(ASSERTION_KEY)) {
      refuse(setting, 'needs a second key: assertionKey=separate (the default with clientAuthMethod=private_key_jwt) or assertionKey=published');
    }
  }
  if (s.given(CLIENT_ASSERTION_KID) && assertionKey === 'published') {
    // The JWKS publishes a key that does not sign yet under its thumbprint, as every published-only key.
    refuse(CLIENT_ASSERTION_KID, 'must be unset while assertionKey=published: the key is published under its RFC 7638 thumbprint until it signs');
  }
  const proxyMode = s.get(PROXY_MODE);
  const basePath = s.get(BASE_PATH) ?? '';
  if (proxyMode === 'bff' && s.given(ALLOWED_REDIRECT_URIS)) {
    const defaulted = s.get(EDGE) === 'true' ? ' (with edge=true proxyMode defaults to bff: -c proxyMode=relay keeps the relay)' : '';
    refuse(ALLOWED_REDIRECT_URIS, `applies only with proxyMode=relay: in bff mode the one redirect URI is the proxy's own callback, redirectUri${defaulted}`);
  }
  const redirectUri = s.get(REDIRECT_URI);
  if (proxyMode === 'bff' && redirectUri !== undefined && !s.failed(BASE_PATH)) {
    const notOwn = ownCallbackProblem(redirectUri, basePath);
    if (notOwn !== undefined) refuse(REDIRECT_URI, notOwn);
  }
  if (s.given(BREAK_GLASS_PRINCIPAL_ARN) && s.given(CLIENT_SECRET_ARN)) {
    refuse(BREAK_GLASS_PRINCIPAL_ARN, 'applies only to a secret the stack creates: for an imported secret, name it in the resource policy you apply by hand (docs/deploy.md)');
  }
  const signingKid = s.get(SIGNING_KID);
  const assertionKid = s.get(CLIENT_ASSERTION_KID);
  const signingKeyGenerations = generations(s, SIGNING_KEY_GENERATIONS, ACTIVE_SIGNING_KEY, signingKid, SIGNING_KID, refuse);
  const assertionKeyGenerations = generations(s, ASSERTION_KEY_GENERATIONS, ACTIVE_ASSERTION_KEY, assertionKid, CLIENT_ASSERTION_KID, refuse);

  if (s.given(SPA_PATH) && s.given(SPA_ORIGIN)) refuse(SPA_ORIGIN, 'and spaPath exclude each other: the SPA comes either from a local build folder or from an existing origin');
  const originSecretVersionId = s.get(ORIGIN_SECRET_VERSION_ID);
  const withEdge = s.get(EDGE) === 'true';
  // Without the edge these keys are refused as such; their rules among each other would only add noise.
  const domain = withEdge ? edgeDomain(s, problems) : undefined;
  if (withEdge && s.get(HSTS_PRELOAD) === true && domain === undefined && !s.failed(DOMAIN_NAME)) {
    refuse(HSTS_PRELOAD, 'needs domainName: a preload list holds your own registrable domain, never *.cloudfront.net');
  }
  const firewall = { loginRateLimit: s.get(WAF_LOGIN_RATE_LIMIT), rateLimit: s.get(WAF_RATE_LIMIT), windowSeconds: s.get(WAF_RATE_WINDOW) };
  if (firewall.loginRateLimit > firewall.rateLimit && !s.failed(WAF_RATE_LIMIT)) {
    // The looser rule counts the login routes too: a higher login limit would never be reached.
    refuse(WAF_LOGIN_RATE_LIMIT, `must not exceed wafRateLimit (${firewall.rateLimit}), which counts the login routes too`);
  }
  const edge: EdgeConfig | undefined =
    withEdge
      ? {
          spaPath: s.get(SPA_PATH),
          spaOrigin: s.get(SPA_ORIGIN),
          contentSecurityPolicy: s.get(CONTENT_SECURITY_POLICY),
          ...(domain === undefined ? {} : { domain }),
          hstsPreload: s.get(HSTS_PRELOAD),
          firewall,
          ...(originSecretVersionId === undefined ? {} : { originSecretVersionId }),
        }
      : undefined;
  if (proxyMode === 'bff' && redirectUri !== undefined) {
    // The SPA's site: the edge's custom domain, else its origins. Without a domain the edge answers only on
    // the distribution's *.cloudfront.net name (CloudFront refuses other Host names), not known before a deploy.
    if (edge !== undefined && domain === undefined && !new URL(redirectUri).hostname.endsWith('.cloudfront.net')) {
      refuse(REDIRECT_URI, `must be on the distribution's *.cloudfront.net name with edge=true and no domainName, the only name it answers on, got ${redirectUri}: leave it unset (it is then {AppUrl}${basePath}/callback), or give domainName`);
    }
    const spaOrigins = edge !== undefined ? (domain === undefined ? [] : [`https://${domain.name}`]) : (s.get(ALLOWED_ORIGINS) ?? []);
    const crossSite = spaOrigins.filter((origin) => !sameSite(origin, redirectUri));
    if (crossSite.length > 0) refuse(REDIRECT_URI, crossSiteBff(redirectUri, crossSite, edge !== undefined));
  }

  const reserved = s.get(RESERVED_CONCURRENCY);
  const environment: Record<string, string> = {};
  for (const setting of FUNCTION_SETTINGS) {
    if (setting.env === undefined || setting.context === undefined || !s.given(setting)) continue;
    const value = s.get(setting);
    // A structured value (API_UPSTREAMS' JSON) as written: the function parses it by the same rule.
    environment[setting.env] = Array.isArray(value) ? value.join(',') : typeof value === 'object' ? source(setting.context)! : String(value);
  }
  return {
    stackName: s.get(STACK_NAME),
    proxyMode,
    basePath,
    clientAuthMethod,
    // Empty only in bff mode behind the edge, whose one origin is the distribution's (derived).
    allowedOrigins: s.get(ALLOWED_ORIGINS) ?? [],
    signingAlg: s.get(SIGNING_ALG),
    keySpec: s.get(KEY_SPEC),
    signingKeyGenerations,
    signingKid,
    clientSecretArn: usesSecret ? s.get(CLIENT_SECRET_ARN) : undefined,
    breakGlassPrincipalArn: usesSecret ? s.get(BREAK_GLASS_PRINCIPAL_ARN) : undefined,
    assertionKey,
    assertionKeyGenerations,
    assertionKid,
    alarmEmail: s.get(ALARM_EMAIL),
    publishedKeyArns: s.get(PUBLISHED_KEY_ARNS) ?? [],
    publicKeyReadByAccount: s.get(PUBLIC_KEY_READ_BY_ACCOUNT),
    memorySize: s.get(MEMORY_SIZE),
    reservedConcurrency: reserved === 'off' ? undefined : (reserved ?? defaultReservations()),
    throttle: { rateLimit: s.get(THROTTLE_RATE_LIMIT), burstLimit: s.get(THROTTLE_BURST_LIMIT) },
    sessionStore: s.get(SESSION_STORE),
    ...(edge === undefined ? {} : { edge }),
    environment,
  };
}

/** The custom domain's keys: the name with its certificate, and optionally the zone it is in. */
function edgeDomain(s: Settings, problems: Problem[]): EdgeDomain | undefined {
  const refuse = (setting: Setting, reason: string, missing?: true) => problems.push({ name: setting.context!, reason, ...(missing && { missing }) });
  const name = s.get(DOMAIN_NAME);
  const certificateArn = s.get(CERTIFICATE_ARN);
  const zoneId = s.get(HOSTED_ZONE_ID);
  const zoneName = s.get(HOSTED_ZONE_NAME);
  if (s.given(DOMAIN_NAME) && !s.given(CERTIFICATE_ARN) && !s.failed(CERTIFICATE_ARN)) {
    refuse(CERTIFICATE_ARN, 'is required with domainName: CloudFront serves a custom domain only with a certificate for it (ACM, us-east-1)', true);
  }
  if (s.given(CERTIFICATE_ARN) && !s.given(DOMAIN_NAME) && !s.failed(DOMAIN_NAME)) refuse(CERTIFICATE_ARN, 'applies only with domainName, the name it certifies');
  for (const [given, other] of [[HOSTED_ZONE_ID, HOSTED_ZONE_NAME], [HOSTED_ZONE_NAME, HOSTED_ZONE_ID]] as const) {
    if (s.given(given) && !s.given(other) && !s.failed(other)) refuse(other, `is required with ${given.context}: the zone is named by both, so that synthesis looks nothing up`, true);
  }
  if ((s.given(HOSTED_ZONE_ID) || s.given(HOSTED_ZONE_NAME)) && !s.given(DOMAIN_NAME) && !s.failed(DOMAIN_NAME)) {
    refuse(HOSTED_ZONE_ID, 'applies only with domainName, whose alias records it holds');
  }
  if (name !== undefined && zoneName !== undefined && name !== zoneName && !name.endsWith(`.${zoneName}`)) {
    refuse(DOMAIN_NAME, `must be hostedZoneName (${zoneName}) or a name under it, got ${name}`);
  }
  if (name === undefined || certificateArn === undefined) return undefined;
  return { name, certificateArn, ...(zoneId === undefined || zoneName === undefined ? {} : { hostedZone: { id: zoneId, name: zoneName } }) };
}

/** Why a bff whose callback (and so its cookie's host) is on another site than the SPA fails, and the fix. */
function crossSiteBff(redirectUri: string, spaOrigins: readonly string[], edge: boolean): string {
  const host = new URL(redirectUri).host;
  const why =
    `is on another site than the SPA (${spaOrigins.join(', ')}): the bff's session cookie belongs to ${host}, the host of its callback, ` +
    'so it would be a third-party cookie, which Safari and Firefox drop (and SameSite=Strict keeps from every cross-site call): the login would end without a session';
  return edge
    ? `${why}. Leave redirectUri unset (it is then ${spaOrigins[0]}${new URL(redirectUri).pathname}), or make it a URL of domainName`
    : `${why}. Deploy with -c edge=true (CloudFront serves the SPA and the bff on one origin; redirectUri may then be left unset), or serve the API under a domain of the SPA's site and make redirectUri its callback (docs/deploy.md, "bff mode")`;
}

/**
 * One key pair per purpose: private_key_jwt gets its own key unless told to share the request
 * object's. `separate` and `shared` say how private_key_jwt signs; `published` also prepares a switch
 * from a client secret.
 */
function assertionKeyMode(s: Settings, method: ClientAuthMethod, refuse: (setting: Setting, reason: string) => void): InfraConfig['assertionKey'] {
  const given = s.get(ASSERTION_KEY);
  if (method !== 'private_key_jwt' && (given === 'separate' || given === 'shared') && !s.failed(CLIENT_AUTH_METHOD)) {
    refuse(ASSERTION_KEY, `=${given} applies only with clientAuthMethod=private_key_jwt; assertionKey=published creates the key ahead of a switch to it`);
  }
  return given ?? (method === 'private_key_jwt' ? 'separate' : 'none');
}

/**
 * A key's generations and the active one, which defaults to the lowest listed: adding a generation
 * publishes it and never makes it sign; the switch is always an explicit `-c activeKey=N`.
 */
function generations(
  s: Settings,
  listSetting: Setting<number[]>,
  activeSetting: Setting<number>,
  fixedKid: string | undefined,
  kidSetting: Setting,
  refuse: (setting: Setting, reason: string) => void,
): KeyGenerations {
  const listed = (s.get(listSetting) as number[] | undefined) ?? [1];
  const active = (s.get(activeSetting) as number | undefined) ?? listed[0]!;
  if (!s.failed(activeSetting) && !listed.includes(active) && !s.failed(listSetting)) {
    refuse(activeSetting, `must be one of the generations ${listSetting.context} lists (${listed.join(', ')}), got ${active}`);
  }
  // A fixed kid names one key. While two generations are published, the switch would hand that kid
  // to the other key, and a verifier holding the earlier JWKS would check the new signatures against
  // the old key: each key must keep its own kid, its RFC 7638 thumbprint.
  if (fixedKid !== undefined && listed.length > 1) {
    refuse(
      kidSetting,
      `must be unset while ${listSetting.context} lists more than one generation: a fixed kid would name two keys. Leave it unset (each key's kid is then its RFC 7638 thumbprint), see docs/key-rotation.md`,
    );
  }
  return { listed, active };
}

/** True when the proxy authenticates to the authorization server with a client secret. */
export function usesClientSecret(config: Pick<InfraConfig, 'clientAuthMethod'>): boolean {
  return config.clientAuthMethod !== 'private_key_jwt';
}

/** Whether the stack creates the client assertion key (signing, or published ahead). */
export function hasAssertionKey(config: Pick<InfraConfig, 'assertionKey'>): boolean {
  return config.assertionKey === 'separate' || config.assertionKey === 'published';
}
