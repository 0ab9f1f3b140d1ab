import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromEnv as bffFromEnv } from '../../functions/bff/wiring.ts';
import { lambdaHandler, type ApiGatewayHandler } from '../../functions/app/lambda.ts';
import { METRIC_DIMENSIONS } from '../../functions/app/observability.ts';
import { loadBffConfig, loadJwksConfig, loadParConfig, loadTokenConfig } from '../../functions/core/config.ts';
import { jwksAppFromEnv } from '../../functions/jwks/wiring.ts';
import { functionsFor, type Mode } from '../../functions/manifest.ts';
import { tokenAppFromEnv } from '../../functions/token/wiring.ts';
import { METRICS_NAMESPACE } from '../../infra/proxy-functions.ts';
import { startLocalStack } from '../../local/stack.ts';
import { BffBrowser } from '../helpers/bff-browser.ts';
import { invoke, REDIRECT_URI, startHarness, validIntent, type Harness } from '../helpers/harness.ts';
import { captureOutput } from '../helpers/output.ts';
import { assertionKeyOf, BFF_CONTEXT, clientSecretIdOf, functionEnv, resolvedEnv, resources, synthesize } from './helpers.ts';

/** A metric as CloudWatch tells them apart: its name and dimension names; `service` when a query fixes it. */
interface MetricKey {
  readonly name: string;
  readonly dimensions: string;
  readonly service?: string;
}
const key = (name: string, dimensions: readonly string[], service?: string): MetricKey => ({
  name,
  dimensions: [...dimensions].sort().join(','),
  ...(service === undefined ? {} : { service }),
});
const show = (m: MetricKey) => `${m.name}{${m.dimensions}}${m.service === undefined ? '' : `@${m.service}`}`;
const sameMetric = (a: MetricKey, b: MetricKey) => a.name === b.name && a.dimensions === b.dimensions;

interface Directive {
  readonly Namespace: string;
  readonly Dimensions: string[][];
  readonly Metrics: { readonly Name: string }[];
}

/** The metrics of the EMF request lines a function printed, each with the service its line names. */
function emitted(lines: readonly Record<string, unknown>[]): MetricKey[] {
  return lines.flatMap((line) => {
    const directives = (line._aws as { CloudWatchMetrics?: Directive[] } | undefined)?.CloudWatchMetrics ?? [];
    return directives.flatMap((directive) => {
      expect(directive.Namespace).toBe(METRICS_NAMESPACE);
      return directive.Dimensions.flatMap((dimensions) => {
        // EMF: every dimension has one string value on the line, or CloudWatch drops the metric.
        for (const dimension of dimensions) expect(typeof line[dimension], dimension).toBe('string');
        return directive.Metrics.map((metric) => key(metric.Name, dimensions, String(line.service)));
      });
    });
  });
}

/** The DashboardBody as JSON: its references (region, function and log group names) become a placeholder. */
function dashboardBody(body: unknown): { widgets: { properties: { metrics?: unknown[][] } }[] } {
  const join = (body as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  const text = join === undefined ? String(body) : join[1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  return JSON.parse(text) as { widgets: { properties: { metrics?: unknown[][] } }[] };
}

/** Every metric of our namespace the dashboard and the alarms read: plain metrics and SEARCH expressions. */
function queried(template: ReturnType<typeof synthesize>['template']): MetricKey[] {
  const found: MetricKey[] = [];
  const dashboards = Object.values(resources(template, 'AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  for (const widget of dashboardBody(dashboards[0]!.Properties!.DashboardBody).widgets) {
    for (const entry of widget.properties.metrics ?? []) {
      const [first] = entry;
      if (typeof first === 'object' && first !== null) {
        const expression = String((first as { expression?: string }).expression ?? '');
        for (const [, schema, name] of expression.matchAll(/SEARCH\('\{([^}]*)\}\s+MetricName="([^"]+)"/g)) {
          const [namespace, ...dimensions] = schema!.split(',').map((part) => part.trim());
          if (namespace === METRICS_NAMESPACE) found.push(key(name!, dimensions));
        }
        continue;
      }
      if (first !== METRICS_NAMESPACE) continue;
      const pairs = entry.slice(2).filter((part) => typeof part === 'string') as string[];
      const dimensions = Object.fromEntries(pairs.flatMap((part, i) => (i % 2 === 0 ? [[part, pairs[i + 1]]] : [])));
      found.push(key(String(entry[1]), Object.keys(dimensions), dimensions.service));
    }
  }
  type AlarmMetric = { Namespace?: string; MetricName?: string; Dimensions?: { Name: string; Value: unknown }[] };
  for (const alarm of Object.values(resources(template, 'AWS::CloudWatch::Alarm'))) {
    const props = alarm.Properties as AlarmMetric & { Metrics?: { MetricStat?: { Metric: AlarmMetric } }[] };
    const metrics = [props, ...(props.Metrics ?? []).flatMap((m) => (m.MetricStat === undefined ? [] : [m.MetricStat.Metric]))];
    for (const metric of metrics) {
      if (metric.Namespace !== METRICS_NAMESPACE || metric.MetricName === undefined) continue;
      const dimensions = metric.Dimensions ?? [];
      const service = dimensions.find((d) => d.Name === 'service')?.Value;
      found.push(key(metric.MetricName, dimensions.map((d) => d.Name), typeof service === 'string' ? service : undefined));
    }
  }
  return found;
}

/**
 * The stack and the handlers agree: the environment each function gets is one its own loader
 * (functions/core/config.ts) accepts, with the values the deployment asked for; and the metrics the
 * dashboard and alarms read are the ones the functions print.
 */
describe('infra and handlers contract', () => {
  describe('metrics (issue 11: a graph of a metric nobody emits shows nothing, and says nothing is wrong)', () => {
    let harness: Harness;
    const lines: Record<string, unknown>[] = [];
    beforeAll(async () => {
      harness = await startHarness();
      const env = harness.env;
      const run = async (handler: ApiGatewayHandler, options: Parameters<typeof invoke>[1], status: number) => {
        const output = captureOutput();
        const answer = await invoke(handler, options).finally(() => output.restore());
        expect(answer.status, answer.raw).toBe(status);
        lines.push(...output.lines().filter((line) => line.message === 'request'));
      };
      // Each function through success, refusal and upstream failure paths, cold (so every cache loads).
      const par = harness.coldPar();
      await run(par, { body: validIntent() }, 201);
      await run(par, { body: { ...validIntent(), redirect_uri: 'https://evil.example.com/cb' } }, 400);
      harness.as.script('par', () => ({ status: 429, body: '' }));
      await run(par, { body: validIntent() }, 503);
      harness.as.reset();
      const tokenBody = { grant_type: 'authorization_code', code: 'c', code_verifier: 'v'.repeat(43), redirect_uri: REDIRECT_URI };
      for (const overrides of [{}, { CLIENT_AUTH_METHOD: 'private_key_jwt' }]) {
        await run(lambdaHandler(tokenAppFromEnv({ ...env, ...overrides })), { path: '/token', body: tokenBody }, 200);
      }
      const token = lambdaHandler(tokenAppFromEnv(env));
      await run(token, { path: '/token', body: { grant_type: 'password' } }, 400);
      harness.secretsManager.setFault(() => ({ kind: 'error', type: 'ThrottlingException', status: 400 }));
      await run(token, { path: '/token', body: tokenBody }, 503);
      harness.secretsManager.setFault(undefined);
      const broken = harness.kms.createKey();
      harness.kms.setKeyState(broken.arn, 'Disabled');
      const jwks = { method: 'GET', path: '/.well-known/jwks.json', headers: {} };
      await run(lambdaHandler(jwksAppFromEnv({ ...env, PUBLISHED_KMS_KEY_IDS: broken.arn })), jwks, 200);
      harness.kms.setFault(() => ({ kind: 'error', type: 'ThrottlingException', status: 400 }));
      await run(lambdaHandler(jwksAppFromEnv(env)), jwks, 503);
      harness.kms.setFault(undefined);
      await harness.close();
      lines.push(...(await bffRequestLines()));
    }, 60_000);
    afterAll(() => harness?.close());

    it('the functions emit every declared metric, under its declared dimensions, and nothing else', () => {
      const declared = Object.entries(METRIC_DIMENSIONS).map(([name, dimensions]) => key(name, dimensions));
      const printed = emitted(lines);
      expect([...new Set(printed.map((m) => show({ ...m, service: undefined })))].sort()).toEqual(declared.map(show).sort());
    });

    it.each([
      ['relay', {}],
      ['bff', BFF_CONTEXT],
    ] as const)('%s: the dashboard and alarms read only metrics its functions emit, and graph every one of them', (mode: Mode, context) => {
      const { template } = synthesize(context);
      const reads = queried(template);
      const services = functionsFor(mode).map((fn) => fn.name as string);
      const printed = emitted(lines.filter((line) => services.includes(String(line.service))));
      expect(reads.length).toBeGreaterThan(5);
      // A query that fixes the service reads what that service prints; a SEARCH, what any prints.
      const unread = reads.filter((q) => !printed.some((m) => sameMetric(m, q) && (q.service === undefined || q.service === m.service)));
      expect(unread.map(show), 'queried but never emitted').toEqual([]);
      const ungraphed = printed.filter((m) => !reads.some((q) => sameMetric(m, q) && (q.service === undefined || q.service === m.service)));
      expect([...new Set(ungraphed.map(show))], 'emitted but not on the dashboard').toEqual([]);
    }, 60_000);
  });

  it('bff: API Gateway\'s CORS answers preflights as the bff\'s own Origin check would (API Gateway answers them first)', async () => {
    const { template } = synthesize({ ...BFF_CONTEXT, basePath: '/auth', redirectUri: 'https://app.example.com/auth/callback' });
    const cors = Object.values(resources(template, 'AWS::ApiGatewayV2::Api'))[0]!.Properties!.CorsConfiguration as Record<string, unknown>;
    const handler = lambdaHandler(bffFromEnv(resolvedEnv(functionEnv(template, 'bff'))).app);
    const list = (value: unknown) => String(value).split(',').map((item) => item.trim().toUpperCase()).sort();
    for (const path of ['/auth/par', '/auth/session', '/auth/logout', '/auth/api/orders/1']) {
      const origin = 'https://app.example.com';
      const preflight = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-csrf' };
      const answer = await invoke(handler, { method: 'OPTIONS', path, headers: { origin, ...preflight } });
      expect(answer.status, path).toBe(204);
      expect(cors.AllowOrigins).toEqual([answer.headers['access-control-allow-origin']]);
      expect(String(cors.AllowCredentials)).toBe(answer.headers['access-control-allow-credentials']);
      expect(list(cors.AllowHeaders)).toEqual(list(answer.headers['access-control-allow-headers']));
      // API Gateway lists OPTIONS, which a preflight never asks for.
      expect(list(cors.AllowMethods).filter((method) => method !== 'OPTIONS')).toEqual(list(answer.headers['access-control-allow-methods']));
      expect(String(cors.MaxAge)).toBe(answer.headers['access-control-max-age']);
      // An origin API Gateway would not allow, the function refuses too.
      expect((await invoke(handler, { method: 'OPTIONS', path, headers: { origin: 'https://evil.example.com', ...preflight } })).status).toBe(403);
    }
  }, 60_000);

  it('client_secret_post: every handler loads its environment', () => {
    const { template } = synthesize({ requestObjectTtl: '90', allowedRedirectUris: 'https://app.example.com/cb,http://localhost:5173/cb' });
    const par = loadParConfig(resolvedEnv(functionEnv(template, 'par')));
    expect(par).toMatchObject({ issuer: 'https://tenant.auth0.com/', clientId: 'abc', authMethod: 'client_secret_post', requestObjectTtl: 90 });
    expect(clientSecretIdOf(par)).toMatch(/^arn:aws:secretsmanager:/);
    expect([...par.allowedRedirectUris]).toEqual(['https://app.example.com/cb', 'http://localhost:5173/cb']);
    expect(par.signingKey).toMatchObject({ alg: 'PS256' });
    expect(par.signingKey.kid).toBeUndefined();
    expect(loadTokenConfig(resolvedEnv(functionEnv(template, 'token')))).toMatchObject({ authMethod: 'client_secret_post' });
    expect(loadJwksConfig(resolvedEnv(functionEnv(template, 'jwks'))).keys).toHaveLength(1);
  }, 60_000);

  it('bff mode: the bff loads its environment with every bff setting the context gives', () => {
    const upstreams = '{"orders":"https://api.example.com/v1","admin":{"url":"https://admin.example.com","methods":["GET"]}}';
    const { template } = synthesize({
      ...BFF_CONTEXT,
      basePath: '/auth',
      redirectUri: 'https://auth.example.com/auth/callback',
      appUrl: 'https://app.example.com/home',
      postLogoutRedirectUri: 'https://app.example.com/bye',
      apiUpstreams: upstreams,
      sessionMaxAge: '3600',
      allowPromptNone: 'true',
    });
    const bff = loadBffConfig(resolvedEnv(functionEnv(template, 'bff')));
    expect(bff).toMatchObject({
      issuer: 'https://tenant.auth0.com/',
      clientId: 'abc',
      authMethod: 'client_secret_post',
      redirectUri: 'https://auth.example.com/auth/callback',
      appUrl: 'https://app.example.com/home',
      postLogoutRedirectUri: 'https://app.example.com/bye',
      sessionMaxAge: 3600,
      basePath: '/auth',
      allowPromptNone: true,
      signingKey: { alg: 'PS256' },
    });
    expect(bff.sessionKeysSecretId).toMatch(/^arn:aws:secretsmanager:.*SessionKeys/);
    expect(clientSecretIdOf(bff)).toMatch(/^arn:aws:secretsmanager:.*ClientSecret/);
    expect([...bff.allowedOrigins]).toEqual(['https://app.example.com']);
    expect(Object.fromEntries([...bff.apiUpstreams].map(([name, upstream]) => [name, [upstream.base, upstream.methods.join()]]))).toEqual({
      orders: ['https://api.example.com/v1', 'GET,HEAD,POST,PUT,PATCH,DELETE'],
      admin: ['https://admin.example.com', 'GET'],
    });
    // The defaults: APP_URL is REDIRECT_URI's origin.
    const plain = loadBffConfig(resolvedEnv(functionEnv(synthesize(BFF_CONTEXT).template, 'bff')));
    expect(plain).toMatchObject({ appUrl: 'https://app.example.com/', basePath: '', sessionMaxAge: 28800 });
    expect(plain.apiUpstreams.size).toBe(0);
  }, 60_000);

  it('allowPromptNone reaches the par function only, as ALLOW_PROMPT_NONE; off by default', () => {
    const off = synthesize({}).template;
    expect(loadParConfig(resolvedEnv(functionEnv(off, 'par'))).allowPromptNone).toBe(false);
    const { template } = synthesize({ allowPromptNone: 'true' });
    expect(functionEnv(template, 'par').ALLOW_PROMPT_NONE).toBe('true');
    expect(loadParConfig(resolvedEnv(functionEnv(template, 'par'))).allowPromptNone).toBe(true);
    for (const name of ['token', 'jwks'] as const) expect(functionEnv(template, name)).not.toHaveProperty('ALLOW_PROMPT_NONE');
  }, 60_000);

  it('private_key_jwt with a separate assertion key: assertion key and kids reach the handlers', () => {
    const { template } = synthesize({
      clientAuthMethod: 'private_key_jwt',
      assertionKey: 'separate',
      signingKid: 'ro-1',
      assertionKid: 'ca-1',
      publishedKeyArns: 'arn:aws:kms:eu-west-1:111122223333:key/0b5f2c1e-1111-2222-3333-444455556666',
    });
    const par = loadParConfig(resolvedEnv(functionEnv(template, 'par')));
    expect(clientSecretIdOf(par)).toBeUndefined();
    expect(par.signingKey.kid).toBe('ro-1');
    expect(assertionKeyOf(par)?.kid).toBe('ca-1');
    expect(assertionKeyOf(par)?.keyId).not.toBe(par.signingKey.keyId);
    const token = loadTokenConfig(resolvedEnv(functionEnv(template, 'token')));
    expect(assertionKeyOf(token)).toEqual(assertionKeyOf(par));
    const jwks = loadJwksConfig(resolvedEnv(functionEnv(template, 'jwks')));
    expect(jwks.keys.map((key) => key.kid)).toEqual(['ro-1', 'ca-1', undefined]);
  }, 60_000);

  it('during a rotation: the active generations sign, the others are published, every loader accepts it', () => {
    const { template } = synthesize({
      clientAuthMethod: 'private_key_jwt',
      assertionKey: 'separate',
      signingKeyGenerations: '1,2',
      activeSigningKey: '2',
      assertionKeyGenerations: '1,2',
    });
    const par = loadParConfig(resolvedEnv(functionEnv(template, 'par')));
    const token = loadTokenConfig(resolvedEnv(functionEnv(template, 'token')));
    const jwks = loadJwksConfig(resolvedEnv(functionEnv(template, 'jwks')));
    expect(assertionKeyOf(token)).toEqual(assertionKeyOf(par));
    const ids = jwks.keys.map((key) => key.keyId);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    expect(ids.slice(0, 2)).toEqual([par.signingKey.keyId, assertionKeyOf(par)!.keyId]);
    expect(jwks.keys.every((key) => key.kid === undefined)).toBe(true);
  }, 60_000);

  it('private_key_jwt: client assertions use their own key by default, the request object key with assertionKey=shared or published', () => {
    for (const [context, shared] of [[{}, false], [{ assertionKey: 'shared' }, true], [{ assertionKey: 'published' }, true]] as const) {
      const { template } = synthesize({ clientAuthMethod: 'private_key_jwt', ...context });
      const token = loadTokenConfig(resolvedEnv(functionEnv(template, 'token')));
      const par = loadParConfig(resolvedEnv(functionEnv(template, 'par')));
      expect(assertionKeyOf(token)).toEqual(assertionKeyOf(par));
      expect(assertionKeyOf(token)?.keyId === par.signingKey.keyId, JSON.stringify(context)).toBe(shared);
    }
  }, 60_000);

  it('assertionKey=published: the JWKS publishes the new key as a key that signs nothing yet', () => {
    for (const context of [{ clientAuthMethod: 'private_key_jwt', assertionKey: 'published' }, { assertionKey: 'published' }]) {
      const { template } = synthesize(context);
      const jwks = loadJwksConfig(resolvedEnv(functionEnv(template, 'jwks')));
      expect(jwks.keys.map((key) => key.active), JSON.stringify(context)).toEqual([true, false]);
    }
  }, 60_000);
});

/**
 * The bff's request lines (service bff) through a success and a failure of each kind, from the local
 * stack with its real login (oidc-provider, the demo API): /par (Pushed), /callback (TokensIssued),
 * an API call (ApiUpstreamLatency), a refused /par (Refused) and an API that is down (UpstreamFailures,
 * Upstream=api); the latencies of KMS, Secrets Manager and the authorization server on the way.
 */
async function bffRequestLines(): Promise<Record<string, unknown>[]> {
  const printed: string[] = [];
  // The server-side store, so that the session table's latency is among the metrics seen.
  const stack = await startLocalStack({ mode: 'bff', sessionStore: 'dynamodb', requestLog: (line) => printed.push(line) });
  try {
    const browser = new BffBrowser(stack.proxyUrl);
    await browser.login();
    expect((await browser.request('/api/demo/me')).status).toBe(200);
    const refused = await browser.request('/par', { method: 'POST', body: JSON.stringify({ scope: 'openid', redirect_uri: 'https://app.example.com/cb' }) });
    expect(refused.status).toBe(400);
    // An API that is down: a port nothing listens on any more.
    const gone = http.createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    stack.redeploy({ API_UPSTREAMS: JSON.stringify({ demo: `http://127.0.0.1:${port}/api` }) });
    expect((await browser.request('/api/demo/me')).status).toBe(502);
  } finally {
    await stack.close();
  }
  return printed.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.message === 'request');
}
