import { randomBytes } from 'node:crypto';
import { startFakeKms, FAKE_REGION, type FakeKms } from '../../local/fake-kms.ts';
import { startFakeSecretsManager, type FakeSecretsManager } from '../../local/fake-secrets-manager.ts';
import {
  startScriptedAuthorizationServer,
  type Endpoint,
  type Script,
  type ScriptedAuthorizationServer,
} from '../../test/helpers/scripted-authorization-server.ts';
import { apiEvent, CODE_CHALLENGE } from '../../test/helpers/events.ts';
import { startBffFakes, type BffFakes } from './bff-fakes.ts';

/**
 * The upstreams every measurement talks to, in this (the parent) process so that their CPU is not
 * counted against the function: the wire-level KMS and Secrets Manager fakes from local/ and the
 * scripted authorization server from test/helpers, all on 127.0.0.1.
 *
 * KMS Sign answers instantly with a precomputed 256-byte signature instead of the fake's RSA
 * signing (about 1 ms of CPU per call here, which would dominate the throughput run). Nothing in
 * these runs verifies the signature; the tests do that.
 */
export const ORIGIN = 'https://app.example.com';
export const REDIRECT_URI = 'https://app.example.com/callback';
export const CLIENT_ID = 'bench-client';
export const KEY_ALIAS = 'alias/bench';
/** A fixed kid for the configurations that skip the GetPublicKey of the first request. */
export const FIXED_KID = 'bench-kid';

export interface Fakes {
  readonly kms: FakeKms;
  readonly secretsManager: FakeSecretsManager;
  readonly as: ScriptedAuthorizationServer;
  /** What every function's process gets: AWS SDK variables pointing at the fakes, and the config. */
  readonly env: Record<string, string>;
  /** The bff's upstream (the API), cookies, events; `bffEnv` is the bff's whole environment. */
  readonly bff: BffFakes;
  readonly bffEnv: Record<string, string>;
  readonly endpoints: Record<'PAR_ENDPOINT' | 'AUTHORIZATION_ENDPOINT' | 'TOKEN_ENDPOINT', string>;
  counts(): RemoteCounts;
  /** Forgets the authorization server's recorded requests (it keeps every one, and scans them per request). */
  resetRecords(): void;
  close(): Promise<void>;
}

export interface RemoteCounts {
  readonly kms: Readonly<Record<string, number>>;
  readonly secretsManager: number;
  readonly as: Readonly<Record<Endpoint, number>>;
  /** Requests that reached the bff's API upstream. */
  readonly api: number;
  /** The session table's calls by operation (SESSION_STORE=dynamodb). */
  readonly dynamodb: Readonly<Record<string, number>>;
}

const ENDPOINTS = ['discovery', 'par', 'token', 'jwks', 'revocation'] as const satisfies readonly Endpoint[];

export async function startFakes(): Promise<Fakes> {
  const kms = await startFakeKms();
  const secretsManager = await startFakeSecretsManager();
  const as = await startScriptedAuthorizationServer();
  const key = kms.createKey({ alias: KEY_ALIAS });
  const secret = secretsManager.createSecret('bench/client', JSON.stringify({ client_secret: 'bench-secret-Zq8r7Xw2' }));
  const signature = randomBytes(256).toString('base64');
  kms.setFault((operation, input) =>
    operation === 'Sign'
      ? { kind: 'respond', status: 200, body: { KeyId: key.arn, Signature: signature, SigningAlgorithm: input.SigningAlgorithm } }
      : undefined,
  );
  // Counts survive resetRecords: the remote-call figures are deltas of these.
  const asCounts: Record<Endpoint, number> = { discovery: 0, par: 0, token: 0, jwks: 0, revocation: 0 };
  const env = {
    AWS_REGION: FAKE_REGION,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL_KMS: kms.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    ISSUER: as.issuer,
    CLIENT_ID,
    CLIENT_SECRET_ID: secret.arn,
    KMS_KEY_ID: KEY_ALIAS,
    ALLOWED_ORIGINS: ORIGIN,
    ALLOWED_REDIRECT_URIS: REDIRECT_URI,
  };
  const bff = await startBffFakes({ issuer: as.issuer, clientId: CLIENT_ID, origin: ORIGIN, redirectUri: REDIRECT_URI, secretsManager });
  const scripts: Partial<Record<Endpoint, Script>> = bff.scripts;
  const scriptAll = () => {
    for (const endpoint of ENDPOINTS) {
      as.script(endpoint, (call, form, headers) => {
        asCounts[endpoint] += 1;
        return scripts[endpoint]?.(call, form, headers);
      });
    }
  };
  scriptAll();
  const { ALLOWED_REDIRECT_URIS: _relayOnly, ...shared } = env;
  return {
    kms,
    secretsManager,
    as,
    env,
    bff,
    bffEnv: { ...shared, ...bff.env },
    endpoints: {
      PAR_ENDPOINT: `${as.issuer}oauth/par`,
      AUTHORIZATION_ENDPOINT: `${as.issuer}authorize`,
      TOKEN_ENDPOINT: `${as.issuer}oauth/token`,
    },
    counts: () => ({
      kms: Object.fromEntries(kms.calls),
      secretsManager: secretsManager.totalCalls(),
      as: { ...asCounts },
      api: bff.api.count(),
      dynamodb: Object.fromEntries(bff.store.counter.calls),
    }),
    resetRecords: () => {
      as.reset(); // also drops the scripts
      scriptAll();
    },
    close: async () => {
      await Promise.all([kms.close(), secretsManager.close(), as.close(), bff.api.close(), bff.store.counter.close(), bff.store.table.close()]);
    },
  };
}

/** The per-request difference of two counts, as "Sign 1, par 1". */
export function perRequest(before: RemoteCounts, after: RemoteCounts, requests: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [operation, count] of Object.entries(after.kms)) {
    const delta = count - (before.kms[operation] ?? 0);
    if (delta !== 0) out[`KMS ${operation}`] = delta / requests;
  }
  const secrets = after.secretsManager - before.secretsManager;
  if (secrets !== 0) out['SecretsManager GetSecretValue'] = secrets / requests;
  for (const endpoint of ENDPOINTS) {
    const delta = after.as[endpoint] - before.as[endpoint];
    if (delta !== 0) out[`AS ${endpoint}`] = delta / requests;
  }
  if (after.api !== before.api) out.API = (after.api - before.api) / requests;
  for (const [operation, count] of Object.entries(after.dynamodb)) {
    const delta = count - (before.dynamodb[operation] ?? 0);
    if (delta !== 0) out[`DynamoDB ${operation}`] = delta / requests;
  }
  return out;
}

export const totalOf = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** The API Gateway v2 events the functions answer in every run. */
export const EVENTS = {
  par: apiEvent({
    method: 'POST',
    path: '/par',
    headers: { 'content-type': 'application/json', origin: ORIGIN },
    body: JSON.stringify({
      redirect_uri: REDIRECT_URI,
      code_challenge: CODE_CHALLENGE,
      code_challenge_method: 'S256',
      state: 'af0ifjsldkj',
      nonce: 'n-0S6_WzA2Mj',
      scope: 'openid profile',
    }),
  }),
  token: apiEvent({
    method: 'POST',
    path: '/token',
    headers: { 'content-type': 'application/json', origin: ORIGIN },
    body: JSON.stringify({
      grant_type: 'authorization_code',
      code: 'SplxlOBeZQQYbYS6WxSbIA',
      code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
      redirect_uri: REDIRECT_URI,
    }),
  }),
  jwks: apiEvent({ method: 'GET', path: '/.well-known/jwks.json', headers: { origin: ORIGIN } }),
};

export const EXPECTED_STATUS = { par: 201, token: 200, jwks: 200 } as const;
