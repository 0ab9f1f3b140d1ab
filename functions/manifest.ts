/**
 * The proxy's functions, declared once. Plain data that the CDK app (bundles, functions, routes,
 * permissions, alarms), the local stack, the benchmark and the tests derive from; the functions read
 * it too, to know which settings they take (functions/settings/table.ts). A new function is its own
 * folder (handler.ts, and wiring.ts exporting `fromEnv`) and one entry here.
 */

/**
 * What a function does. A setting names the capabilities that read it, so a function's environment
 * is every setting of its capabilities; the stack grants each capability its permissions
 * (infra/proxy-functions.ts), and nothing else.
 */
export type Capability =
  /** Authenticates to the authorization server as CLIENT_ID: reads the client secret, or signs private_key_jwt assertions. */
  | 'oauth-client'
  /** Answers the SPA's browser: the Origin and redirect_uri allow-lists. */
  | 'spa'
  /** Signs request objects (RFC 9101) with the request object key and pushes them (RFC 9126). */
  | 'request-objects'
  /** Calls the token endpoint. */
  | 'token-endpoint'
  /** Publishes the public half of every key (the JWKS). */
  | 'publish-keys'
  /** Holds the bff mode's session: seals cookies with the session keys, forwards to the APIs. */
  | 'session'
  /** With DPOP=true, seals the refresh tokens it hands the SPA to its DPoP key, with the session keys. */
  | 'refresh-binding';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'ANY';

/** PROXY_MODE (functions/settings/table.ts): which functions a deployment has. */
export type Mode = 'relay' | 'bff';

export interface Route {
  readonly method: HttpMethod;
  /**
   * From the API's root, or from BASE_PATH for a function with `underBasePath`. A last segment
   * `{proxy+}` matches the rest of the path (API Gateway's greedy path variable).
   */
  readonly path: string;
  /** A step of signing in (a KMS signature, a call to the authorization server): held to a tighter per-IP rate at the edge (infra/firewall.ts). */
  readonly login?: true;
}

export interface FunctionSpec {
  /** Lower-case; construct ids, alarm names and the metrics' `service` derive from it. */
  readonly name: string;
  /** The bundle's entry, relative to the repository root; exports `handler`. */
  readonly entry: string;
  /** Relative to the repository root; exports `fromEnv(env, clock)`, which the local stack serves. */
  readonly wiring: string;
  /** The Lambda function's description. */
  readonly description: string;
  /** The API routes to this function; nothing else reaches it. */
  readonly routes: readonly Route[];
  readonly capabilities: readonly Capability[];
  /** The modes that deploy it. */
  readonly modes: readonly Mode[];
  /** Its routes are relative to BASE_PATH. */
  readonly underBasePath?: true;
  /** Reserved concurrent executions unless the `reservedConcurrency` context says otherwise (docs/deploy.md, "Figures"). */
  readonly reservedConcurrency: number;
  /** The gzip (level 9) budget of its bundle, guarded by test/bundle-size.test.ts. */
  readonly gzipBudgetKiB: number;
}

export const JWKS_PATH = '/.well-known/jwks.json';

export const PAR = {
  name: 'par',
  entry: 'functions/par/handler.ts',
  wiring: 'functions/par/wiring.ts',
  description: 'POST /par: signs the authorization request with KMS and pushes it (RFC 9101, RFC 9126)',
  routes: [{ method: 'POST', path: '/par', login: true }],
  capabilities: ['oauth-client', 'spa', 'request-objects'],
  modes: ['relay'],
  // Holds a whole stage burst (100) at once.
  reservedConcurrency: 100,
  gzipBudgetKiB: 123, // floor 107.1 KiB x 1.15 = 123.2; measured 120.4 KiB
} as const satisfies FunctionSpec;

export const TOKEN = {
  name: 'token',
  entry: 'functions/token/handler.ts',
  wiring: 'functions/token/wiring.ts',
  description: 'POST /token: redeems the authorization code with the client credentials',
  routes: [{ method: 'POST', path: '/token', login: true }],
  capabilities: ['oauth-client', 'spa', 'token-endpoint', 'refresh-binding'],
  modes: ['relay'],
  // Once per sign-in and per refresh: half of par's.
  reservedConcurrency: 50,
  // The floor's 103.4 KiB x 1.15 was 118.9 (measured 118.5 KiB). Relay DPoP (issue 14) adds 12.8 KiB:
  // jose's JWS verify and RFC 7638 thumbprint (4.9 KiB alone) and its JWE (8.7 KiB alone; 10.3 together)
  // for the sealed refresh tokens, and the session key ring; the edge's origin check 0.8 KiB (issue 13).
  // Measured 132.4 KiB (test/bundle-size.test.ts), 1.28 x the floor.
  gzipBudgetKiB: 132.5,
} as const satisfies FunctionSpec;

export const JWKS = {
  name: 'jwks',
  entry: 'functions/jwks/handler.ts',
  wiring: 'functions/jwks/wiring.ts',
  description: 'GET /.well-known/jwks.json: publishes the public signing keys',
  routes: [{ method: 'GET', path: JWKS_PATH }],
  capabilities: ['publish-keys'],
  modes: ['relay', 'bff'],
  // Its readers cache it.
  reservedConcurrency: 20,
  gzipBudgetKiB: 115, // floor 105.1 KiB x 1.15 = 120.9, held lower; measured 111.4 KiB
} as const satisfies FunctionSpec;

/**
 * The backend-for-frontend (RFC 10017 6.1): one function for the whole session, because every
 * function is a cold start on a user's first login (par, callback, session, first API call):
 * measured, one cold start of about 155 ms against four totalling about 600 ms split by route
 * (README, "Cold start and per-request cost").
 */
export const BFF = {
  name: 'bff',
  entry: 'functions/bff/handler.ts',
  wiring: 'functions/bff/wiring.ts',
  description: 'bff mode: /par, /callback, /session, /logout, /backchannel-logout and /api/{name}/...; tokens stay in a sealed HttpOnly cookie or the session table (RFC 10017 6.1)',
  routes: [
    { method: 'POST', path: '/par', login: true },
    { method: 'GET', path: '/callback', login: true },
    { method: 'GET', path: '/session' },
    { method: 'POST', path: '/logout' },
    // OpenID Connect Back-Channel Logout 1.0, from the authorization server (SESSION_STORE=dynamodb).
    { method: 'POST', path: '/backchannel-logout' },
    { method: 'ANY', path: '/api/{name}/{proxy+}' },
  ],
  capabilities: ['oauth-client', 'request-objects', 'token-endpoint', 'session'],
  modes: ['bff'],
  underBasePath: true,
  // Every page load asks /session and every API call goes through it: par's and token's together.
  reservedConcurrency: 150,
  // The floor's 122.2 KiB x 1.15 = 140.5; measured 140.7 KiB (1.151 x, npm run bench) before issues 13-15.
  // Since: the edge's origin check (0.7 KiB), DPoP (1.2 KiB: core/dpop-*.ts, proofs on node:crypto),
  // JARM and the FAPI profile (0.9 KiB), and @aws-sdk/client-dynamodb with the session store (13.0 KiB:
  // its own commands and protocol only; the smithy core is shared with KMS and Secrets Manager).
  gzipBudgetKiB: 157,
} as const satisfies FunctionSpec;

/** Every function, in the order the stack creates them. */
export const FUNCTIONS = [PAR, TOKEN, JWKS, BFF] as const;

/** The functions a deployment in `mode` has. */
export function functionsFor(mode: Mode): Array<(typeof FUNCTIONS)[number]> {
  return FUNCTIONS.filter((fn) => (fn.modes as readonly Mode[]).includes(mode));
}

export type FunctionName = (typeof FUNCTIONS)[number]['name'];

export function hasCapability(fn: FunctionSpec, capabilities: readonly Capability[]): boolean {
  return fn.capabilities.some((capability) => capabilities.includes(capability));
}

/** A route's path on the API: under the base path for a function with `underBasePath`. */
export function routePath(spec: FunctionSpec, path: string, basePath: string): string {
  return `${spec.underBasePath === true ? basePath : ''}${path}`;
}
