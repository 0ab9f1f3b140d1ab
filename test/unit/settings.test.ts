import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FromEnv } from '../../functions/app/wiring.ts';
import { loadBffConfig, loadJwksConfig, loadParConfig, loadTokenConfig } from '../../functions/core/config.ts';
import { ConfigError } from '../../functions/core/errors.ts';
import { FUNCTIONS } from '../../functions/manifest.ts';
import { contextSource, envSource, settingsReader, type Setting } from '../../functions/settings/reader.ts';
import { integer, list } from '../../functions/settings/rules.ts';
import { CLIENT_AUTH_METHOD, DEPLOYMENT_SETTINGS, FUNCTION_SETTINGS, settingsOf, UPSTREAM_TIMEOUT_MS } from '../../functions/settings/table.ts';
import { InfraConfigError, parseInfraConfig } from '../../infra/config.ts';

const ENV = {
  ISSUER: 'https://tenant.auth0.com/',
  CLIENT_ID: 'abc',
  CLIENT_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:1:secret:x',
  KMS_KEY_ID: 'alias/par',
  ALLOWED_REDIRECT_URIS: 'https://app.example.com/callback',
  ALLOWED_ORIGINS: 'https://app.example.com',
  // The bff's (relay's functions read none of them).
  PROXY_MODE: 'bff',
  REDIRECT_URI: 'https://app.example.com/callback',
  SESSION_KEYS_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:1:secret:s',
};
const CONTEXT = {
  issuer: 'https://tenant.auth0.com/',
  clientId: 'abc',
  allowedOrigins: 'https://app.example.com',
  allowedRedirectUris: 'https://app.example.com/callback',
};

/** The problems of a deployment with `context` over the README example, by context key. */
function deploymentProblems(context: Record<string, unknown>): Record<string, string> {
  const merged: Record<string, unknown> = { ...CONTEXT, ...context };
  try {
    parseInfraConfig((key) => merged[key]);
    return {};
  } catch (error) {
    if (!(error instanceof InfraConfigError)) throw error;
    return Object.fromEntries(error.problems.map((problem) => [problem.name, problem.reason]));
  }
}

/** The variable the functions refuse, or undefined when every loader accepts `env`. */
function functionProblem(env: Record<string, string | undefined>): string | undefined {
  try {
    for (const load of [loadParConfig, loadTokenConfig, loadJwksConfig]) load({ ...ENV, ...env });
    return undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.variable;
  }
}

describe('the settings table', () => {
  it('names every variable and context key once; the stack fills the settings without a context key', () => {
    const all: readonly Setting[] = [...FUNCTION_SETTINGS, ...DEPLOYMENT_SETTINGS];
    const envs = all.flatMap((setting) => setting.env ?? []);
    const keys = all.flatMap((setting) => setting.context ?? []);
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(keys).size).toBe(keys.length);
    for (const setting of FUNCTION_SETTINGS) {
      expect(setting.readBy, setting.env).toBeDefined();
      expect(setting.context === undefined, setting.env).toBe(setting.fromStack === true);
    }
    for (const setting of DEPLOYMENT_SETTINGS) expect([setting.env, setting.readBy, setting.fromStack]).toEqual([undefined, undefined, undefined]);
    // Every default is a value its own rule accepts.
    for (const setting of all) if (setting.default !== undefined) expect(() => setting.rule(setting.default!, { deployment: true })).not.toThrow();
  });

  // Every function's loader, run on a secret and on both private_key_jwt keys, must read exactly the
  // variables the table gives it: the stack passes those and no others (infra/proxy-functions.ts).
  it.each(FUNCTIONS.map((fn) => [fn.name, fn] as const))('%s reads exactly the variables of its capabilities', async (_name, fn) => {
    const { fromEnv } = (await import(new URL(`../../${fn.wiring}`, import.meta.url).href)) as { fromEnv: FromEnv };
    const read = new Set<string>();
    const variants = [
      {},
      { CLIENT_AUTH_METHOD: 'private_key_jwt', CLIENT_SECRET_ID: undefined },
      { CLIENT_AUTH_METHOD: 'private_key_jwt', CLIENT_SECRET_ID: undefined, CLIENT_ASSERTION_KMS_KEY_ID: 'alias/assert', CLIENT_ASSERTION_KID: 'a1' },
      // The bff's server-side sessions (relay's functions read neither).
      { SESSION_STORE: 'dynamodb', SESSION_TABLE_NAME: 'sessions' },
    ];
    for (const variant of variants) {
      const env = new Proxy({ ...ENV, ...variant } as Record<string, string | undefined>, {
        get: (target, name: string) => {
          read.add(name);
          return target[name];
        },
      });
      fromEnv(env);
    }
    expect([...read].sort()).toEqual(settingsOf(fn).map((setting) => setting.env).sort());
  });
});

describe('the session store (issue 15)', () => {
  const bff = { allowedRedirectUris: undefined, proxyMode: 'bff', redirectUri: 'https://app.example.com/callback' };
  it('sessionIdleTimeout applies only with sessionStore=dynamodb; sessionStore takes cookie or dynamodb', () => {
    expect(deploymentProblems({ ...bff, sessionIdleTimeout: '900' })).toEqual({ sessionIdleTimeout: 'applies only with sessionStore=dynamodb' });
    expect(deploymentProblems({ ...bff, sessionStore: 'dynamodb', sessionIdleTimeout: '900' })).toEqual({});
    expect(deploymentProblems({ ...bff, sessionStore: 'redis' })).toEqual({ sessionStore: expect.stringMatching(/cookie, dynamodb/) });
    expect(deploymentProblems({ ...bff, sessionStore: 'dynamodb', sessionIdleTimeout: '60' })).toEqual({ sessionIdleTimeout: expect.stringMatching(/300 to/) });
  });

  it('the bff fails its cold start on SESSION_STORE=dynamodb without SESSION_TABLE_NAME, naming it; reads the idle timeout', () => {
    expect(() => loadBffConfig({ ...ENV, SESSION_STORE: 'dynamodb' })).toThrow(expect.objectContaining({ variable: 'SESSION_TABLE_NAME' }));
    expect(loadBffConfig({ ...ENV, SESSION_STORE: 'dynamodb', SESSION_TABLE_NAME: 'sessions', SESSION_IDLE_TIMEOUT: '900' }).sessionStore).toEqual({ kind: 'dynamodb', tableName: 'sessions', idleTimeout: 900 });
    expect(loadBffConfig(ENV).sessionStore).toEqual({ kind: 'cookie' });
  });
});

describe('one rule per setting, in the functions and in the deployment', () => {
  it.each([
    ['99', false],
    ['100', true],
    ['8000', true],
    ['8001', false],
    ['1e3', false],
  ])('UPSTREAM_TIMEOUT_MS / upstreamTimeoutMs %s: both accept, or both refuse', (value, accepted) => {
    expect(functionProblem({ UPSTREAM_TIMEOUT_MS: value })).toBe(accepted ? undefined : 'UPSTREAM_TIMEOUT_MS');
    expect(deploymentProblems({ upstreamTimeoutMs: value })).toEqual(accepted ? {} : { upstreamTimeoutMs: expect.stringMatching(/100 to 8000/) });
  });

  it('an issuer with a query is refused by both (RFC 8414 2)', () => {
    expect(functionProblem({ ISSUER: 'https://tenant.auth0.com/?x=1' })).toBe('ISSUER');
    expect(deploymentProblems({ issuer: 'https://tenant.auth0.com/?x=1' })).toEqual({ issuer: expect.stringMatching(/query/) });
  });

  it('allowed redirect URIs: required by relay\'s functions (whose environment has no PROXY_MODE) and a relay deployment, not a bff one', () => {
    const { PROXY_MODE: _bff, ...relay } = ENV;
    for (const load of [loadParConfig, loadTokenConfig]) {
      expect(() => load({ ...relay, ALLOWED_REDIRECT_URIS: undefined })).toThrow(expect.objectContaining({ variable: 'ALLOWED_REDIRECT_URIS' }));
    }
    expect(deploymentProblems({ allowedRedirectUris: undefined })).toEqual({ allowedRedirectUris: 'is required with proxyMode=relay' });
    expect(deploymentProblems({ allowedRedirectUris: undefined, proxyMode: 'bff', redirectUri: 'https://app.example.com/callback' })).toEqual({});
  });

  it('allowed origins are required by both', () => {
    expect(functionProblem({ ALLOWED_ORIGINS: undefined })).toBe('ALLOWED_ORIGINS');
    expect(deploymentProblems({ allowedOrigins: undefined })).toEqual({ allowedOrigins: expect.stringMatching(/is required/) });
  });

  it('http only on loopback; the deployment refuses loopback for the authorization server only', () => {
    // The local stack runs the authorization server on 127.0.0.1.
    for (const issuer of ['http://127.0.0.1:3001', 'http://localhost:3001/', 'http://[::1]:3001']) expect(functionProblem({ ISSUER: issuer })).toBeUndefined();
    expect(functionProblem({ ISSUER: 'http://tenant.auth0.com/' })).toBe('ISSUER');
    // A Lambda function cannot reach the developer's machine...
    expect(deploymentProblems({ issuer: 'http://localhost:3001/', parEndpoint: 'https://127.0.0.1/par', tokenEndpoint: 'http://[::1]/token' })).toEqual({
      issuer: expect.stringMatching(/loopback/),
      parEndpoint: expect.stringMatching(/loopback/),
      tokenEndpoint: expect.stringMatching(/loopback/),
    });
    // ...but a developer's SPA on localhost may use a deployed proxy.
    expect(deploymentProblems({ allowedOrigins: 'http://localhost:5173', allowedRedirectUris: 'http://127.0.0.1:5173/cb' })).toEqual({});
    expect(deploymentProblems({ allowedOrigins: 'http://app.example.com' })).toEqual({ allowedOrigins: expect.stringMatching(/https/) });
  });
});

describe('settingsReader', () => {
  const TIMEOUT = { env: 'TIMEOUT', context: 'timeout', rule: (raw: string) => integer(raw, 1, 10), default: '5' } as const satisfies Setting;
  const NAMES = { env: 'NAMES', context: 'names', rule: (raw: string) => list(raw, (item) => item), required: true } as const satisfies Setting;
  const SECRET = { env: 'SECRET', rule: (raw: string) => raw, required: { setting: CLIENT_AUTH_METHOD, is: ['client_secret_post'] } } as const satisfies Setting;

  it('collects every problem instead of stopping at the first, and judges no condition on a bad value', () => {
    const s = settingsReader('env', envSource({ TIMEOUT: '11', NAMES: ' , ', CLIENT_AUTH_METHOD: 'none' }));
    for (const setting of [TIMEOUT, NAMES, SECRET]) s.get(setting);
    expect(s.problems).toEqual([
      { name: 'TIMEOUT', reason: 'must be an integer from 1 to 10, got 11' },
      // An empty list is no value.
      { name: 'NAMES', reason: 'is required', missing: true },
      { name: 'CLIENT_AUTH_METHOD', reason: expect.stringMatching(/one of/) },
    ]);
    expect(s.get(TIMEOUT)).toBeUndefined();
    expect(s.failed(TIMEOUT)).toBe(true);
  });

  it('applies defaults without counting them as given, and conditions on defaults', () => {
    const s = settingsReader('env', envSource({ NAMES: 'a, b,a' }));
    expect([s.get(TIMEOUT), s.given(TIMEOUT)]).toEqual([5, false]);
    expect([s.get(NAMES), s.given(NAMES)]).toEqual([['a', 'b'], true]);
    expect(s.get(SECRET)).toBeUndefined();
    // CLIENT_AUTH_METHOD defaults to client_secret_post, under which SECRET is required.
    expect(s.problems).toEqual([{ name: 'SECRET', reason: 'is required with CLIENT_AUTH_METHOD=client_secret_post', missing: true }]);
  });

  it('reads CDK context as the environment spells it: numbers, booleans and arrays become strings', () => {
    const context: Record<string, unknown> = { timeout: 7, names: ['x', 2, ' y '] };
    const s = settingsReader('context', contextSource((key) => context[key]));
    expect([s.get(TIMEOUT), s.get(NAMES)]).toEqual([7, ['x', '2', 'y']]);
    const bad = settingsReader('context', contextSource(() => ({ nested: true })));
    bad.get(TIMEOUT);
    expect(bad.problems).toEqual([{ name: 'timeout', reason: 'must be a string, got {"nested":true}' }]);
  });

  it('names the variable in the functions and the context key in the deployment', () => {
    expect(functionProblem({ UPSTREAM_TIMEOUT_MS: '1' })).toBe(UPSTREAM_TIMEOUT_MS.env);
    expect(Object.keys(deploymentProblems({ upstreamTimeoutMs: '1' }))).toEqual([UPSTREAM_TIMEOUT_MS.context]);
  });
});

describe("the README's configuration table", () => {
  it('lists every variable with its default, and says which are required', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Behaviour'));
    const rows: Record<string, string> = {};
    for (const line of section.split('\n').filter((row) => row.startsWith('| `'))) {
      const [names, defaults] = line.split('|').slice(1, 3).map((cell) => cell.trim()) as [string, string];
      for (const name of names.matchAll(/`(\w+)`/g)) rows[name[1]!] = defaults;
    }
    expect(Object.keys(rows).sort()).toEqual(FUNCTION_SETTINGS.map((setting) => setting.env).sort());
    for (const setting of FUNCTION_SETTINGS) {
      const cell = rows[setting.env!]!;
      if (setting.required !== undefined) expect(cell, setting.env).toMatch(/^required/);
      if (setting.default !== undefined) expect(cell, setting.env).toContain(`\`${setting.default}\``);
    }
  });
});

describe('securityProfile=fapi2 in the deployment (FAPI 2.0)', () => {
  const FAPI = { securityProfile: 'fapi2', clientAuthMethod: 'private_key_jwt' };

  it('passes SECURITY_PROFILE on to the functions', () => {
    const context: Record<string, unknown> = { ...CONTEXT, ...FAPI };
    expect(parseInfraConfig((key) => context[key]).environment.SECURITY_PROFILE).toBe('fapi2');
  });

  it('fails synthesis naming both context keys when signingAlg, clientAuthMethod or clientSecretArn contradicts it', () => {
    expect(deploymentProblems({ ...FAPI, signingAlg: 'RS256' })).toEqual({ signingAlg: 'must be PS256, got RS256, with securityProfile=fapi2 (FAPI 2.0)' });
    expect(deploymentProblems({ ...FAPI, clientAuthMethod: undefined })).toEqual({
      clientAuthMethod: 'must be private_key_jwt, got client_secret_post: no client secret is allowed with securityProfile=fapi2 (FAPI 2.0)',
    });
    expect(deploymentProblems({ ...FAPI, clientAuthMethod: 'client_secret_basic', clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:par-AbCdEf' })).toMatchObject({
      clientSecretArn: 'must be unset: no client secret is allowed with securityProfile=fapi2 (FAPI 2.0)',
    });
  });
});
