import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../functions/manifest.ts';
import { PROJECT_ROOT } from '../../infra/bundling.ts';
import { CONTEXT_KEYS, exampleCommand, formatConfigError, InfraConfigError, parseInfraConfig, SETTINGS } from '../../infra/config.ts';
import { BASE_CONTEXT, BFF_CONTEXT } from './helpers.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:par-proxy/client-AbC123';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function parse(context: Record<string, unknown>) {
  const merged: Record<string, unknown> = { ...BASE_CONTEXT, ...context };
  return parseInfraConfig((key) => merged[key]);
}

function errorOf(context: Record<string, unknown>): InfraConfigError {
  try {
    parse(context);
  } catch (error) {
    if (error instanceof InfraConfigError) return error;
    throw error;
  }
  throw new Error(`no error for ${JSON.stringify(context)}`);
}

/** Each function's own figure (functions/manifest.ts). */
const RESERVED = Object.fromEntries(FUNCTIONS.map((fn) => [fn.name, fn.reservedConcurrency]));
const problemKeys = (context: Record<string, unknown>) => errorOf(context).keys;

describe('parseInfraConfig', () => {
  it('gives the README example its defaults', () => {
    expect(parse({})).toEqual({
      stackName: 'ParProxy',
      proxyMode: 'relay',
      basePath: '',
      clientAuthMethod: 'client_secret_post',
      allowedOrigins: ['https://app.example.com'],
      signingAlg: 'PS256',
      keySpec: 'RSA_2048',
      signingKeyGenerations: { listed: [1], active: 1 },
      signingKid: undefined,
      clientSecretArn: undefined,
      breakGlassPrincipalArn: undefined,
      assertionKey: 'none',
      assertionKeyGenerations: { listed: [1], active: 1 },
      assertionKid: undefined,
      alarmEmail: undefined,
      publishedKeyArns: [],
      publicKeyReadByAccount: false,
      memorySize: 512,
      reservedConcurrency: RESERVED,
      throttle: { rateLimit: 50, burstLimit: 100 },
      sessionStore: 'cookie',
      // Only what the context sets: the functions apply the same table's defaults to the rest.
      environment: {
        ISSUER: 'https://tenant.auth0.com/',
        CLIENT_ID: 'abc',
        ALLOWED_ORIGINS: 'https://app.example.com',
        ALLOWED_REDIRECT_URIS: 'https://app.example.com/callback',
      },
    });
  });

  it('keeps the issuer exactly as given, with or without trailing slash', () => {
    expect(parse({ issuer: 'https://tenant.auth0.com/' }).environment.ISSUER).toBe('https://tenant.auth0.com/');
    expect(parse({ issuer: 'https://idp.example.com/realms/demo' }).environment.ISSUER).toBe('https://idp.example.com/realms/demo');
  });

  it('reads lists from comma-separated strings and from cdk.json arrays', () => {
    const config = parse({
      allowedOrigins: ' https://a.example.com, https://b.example.com:8443 ,http://localhost:5173',
      allowedRedirectUris: ['https://a.example.com/cb', 'http://127.0.0.1:5173/cb'],
      publishedKeyArns: `${KEY_ARN},${KEY_ARN}`,
    });
    expect(config.allowedOrigins).toEqual(['https://a.example.com', 'https://b.example.com:8443', 'http://localhost:5173']);
    expect(config.environment.ALLOWED_ORIGINS).toBe('https://a.example.com,https://b.example.com:8443,http://localhost:5173');
    expect(config.environment.ALLOWED_REDIRECT_URIS).toBe('https://a.example.com/cb,http://127.0.0.1:5173/cb');
    expect(config.publishedKeyArns).toEqual([KEY_ARN]);
  });

  it('takes every optional key', () => {
    const config = parse({
      stackName: 'ParProxyStaging',
      signingAlg: 'RS256',
      keySpec: 'RSA_4096',
      clientAuthMethod: 'client_secret_basic',
      clientSecretArn: SECRET_ARN,
      alarmEmail: 'ops@example.com',
      signingKid: 'request-object-1',
      parEndpoint: 'https://tenant.auth0.com/oauth/par',
      authorizationEndpoint: 'https://tenant.auth0.com/authorize',
      tokenEndpoint: 'https://tenant.auth0.com/oauth/token',
      requestObjectTtl: '120',
      upstreamTimeoutMs: 2500,
      allowedAuthorizationDetailsTypes: 'payment_initiation',
      allowPromptNone: 'true',
      assertionKey: 'published',
      publicKeyReadByAccount: true,
      memorySize: '1024',
      throttleRateLimit: '20',
      throttleBurstLimit: '40',
    });
    expect(config).toMatchObject({
      stackName: 'ParProxyStaging',
      signingAlg: 'RS256',
      keySpec: 'RSA_4096',
      clientAuthMethod: 'client_secret_basic',
      clientSecretArn: SECRET_ARN,
      assertionKey: 'published',
      publicKeyReadByAccount: true,
      memorySize: 1024,
      throttle: { rateLimit: 20, burstLimit: 40 },
      environment: {
        CLIENT_AUTH_METHOD: 'client_secret_basic',
        SIGNING_ALG: 'RS256',
        SIGNING_KID: 'request-object-1',
        PAR_ENDPOINT: 'https://tenant.auth0.com/oauth/par',
        AUTHORIZATION_ENDPOINT: 'https://tenant.auth0.com/authorize',
        TOKEN_ENDPOINT: 'https://tenant.auth0.com/oauth/token',
        REQUEST_OBJECT_TTL: '120',
        UPSTREAM_TIMEOUT_MS: '2500',
        ALLOWED_AUTHORIZATION_DETAILS_TYPES: 'payment_initiation',
        ALLOW_PROMPT_NONE: 'true',
      },
    });
  });

  it('gives private_key_jwt its own client assertion key unless assertionKey=shared (one key pair per purpose)', () => {
    expect(parse({ clientAuthMethod: 'private_key_jwt' }).assertionKey).toBe('separate');
    expect(parse({ clientAuthMethod: 'private_key_jwt', assertionKey: 'separate' }).assertionKey).toBe('separate');
    expect(parse({ clientAuthMethod: 'private_key_jwt', assertionKey: 'shared' }).assertionKey).toBe('shared');
    // The upgrade path: the second key is published while the shared key still signs, then switched to.
    expect(parse({ clientAuthMethod: 'private_key_jwt', assertionKey: 'published' }).assertionKey).toBe('published');
    // And ahead of a switch from a client secret to private_key_jwt.
    expect(parse({ assertionKey: 'published' }).assertionKey).toBe('published');
    expect(parse({ clientAuthMethod: 'private_key_jwt', assertionKid: 'a1' }).assertionKid).toBe('a1');
    expect(parse({ clientAuthMethod: 'private_key_jwt', assertionKeyGenerations: '1,2' }).assertionKeyGenerations).toEqual({ listed: [1, 2], active: 1 });
    expect(parse({}).assertionKey).toBe('none');
  });

  it('refuses the retired assertion key settings, naming what replaced them', () => {
    expect(errorOf({ clientAuthMethod: 'private_key_jwt', sharedAssertionKey: 'true' }).message).toMatch(/"sharedAssertionKey" was replaced by assertionKey: sharedAssertionKey=true is now assertionKey=shared/);
    expect(errorOf({ clientAuthMethod: 'private_key_jwt', separateAssertionKey: 'true' }).message).toMatch(/"separateAssertionKey" was replaced by assertionKey=separate/);
    // The old boolean values of assertionKey: no silent reinterpretation of a cdk.json.
    for (const value of ['true', 'false', true]) expect(errorOf({ clientAuthMethod: 'private_key_jwt', assertionKey: value }).message).toMatch(/"assertionKey" now takes separate, shared, published/);
    // The old upgrade step names both keys at once.
    expect(problemKeys({ clientAuthMethod: 'private_key_jwt', sharedAssertionKey: 'true', assertionKey: 'true' })).toEqual(['sharedAssertionKey', 'assertionKey']);
  });

  it('reads reserved concurrency per function, the manifest\'s figures for the others, or off', () => {
    expect(RESERVED).toMatchObject({ par: 100, token: 50, jwks: 20 });
    expect(parse({ reservedConcurrency: 'par=200' }).reservedConcurrency).toEqual({ ...RESERVED, par: 200 });
    expect(parse({ reservedConcurrency: ' jwks = 5 , token=10 ' }).reservedConcurrency).toEqual({ ...RESERVED, token: 10, jwks: 5 });
    expect(parse({ reservedConcurrency: ['par=3', 'token=2', 'jwks=1'] }).reservedConcurrency).toEqual({ ...RESERVED, par: 3, token: 2, jwks: 1 });
    expect(parse({ reservedConcurrency: 'off' }).reservedConcurrency).toBeUndefined();
    expect(parse({ reservedConcurrency: 'none' }).reservedConcurrency).toBeUndefined();
    expect(parse({ reservedConcurrency: '' }).reservedConcurrency).toEqual(RESERVED);
  });

  it('takes a break-glass IAM role or user allowed to read the client secret', () => {
    const role = 'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_BreakGlass_0123456789abcdef';
    expect(parse({ breakGlassPrincipalArn: role }).breakGlassPrincipalArn).toBe(role);
    expect(parse({ breakGlassPrincipalArn: 'arn:aws:iam::111122223333:user/break-glass' }).breakGlassPrincipalArn).toBe('arn:aws:iam::111122223333:user/break-glass');
  });

  it('reads key generations; the active one defaults to the lowest listed, never to a newly added one', () => {
    expect(parse({ signingKeyGenerations: '1,2' }).signingKeyGenerations).toEqual({ listed: [1, 2], active: 1 });
    expect(parse({ signingKeyGenerations: ' 2 , 1 ', activeSigningKey: '2' }).signingKeyGenerations).toEqual({ listed: [1, 2], active: 2 });
    expect(parse({ signingKeyGenerations: '2', activeSigningKey: 2 }).signingKeyGenerations).toEqual({ listed: [2], active: 2 });
    expect(parse({ signingKeyGenerations: '3' }).signingKeyGenerations).toEqual({ listed: [3], active: 3 });
    // cdk.json: arrays of numbers or strings, and plain numbers.
    expect(parse({ signingKeyGenerations: [2, '3'], activeSigningKey: 3 }).signingKeyGenerations).toEqual({ listed: [2, 3], active: 3 });
    expect(parse({ signingKeyGenerations: 4 }).signingKeyGenerations).toEqual({ listed: [4], active: 4 });
    expect(parse({ signingKeyGenerations: '' }).signingKeyGenerations).toEqual({ listed: [1], active: 1 });
    const assertion = parse({ clientAuthMethod: 'private_key_jwt', assertionKeyGenerations: '1,2', activeAssertionKey: '2' });
    expect(assertion.assertionKeyGenerations).toEqual({ listed: [1, 2], active: 2 });
    expect(assertion.signingKeyGenerations).toEqual({ listed: [1], active: 1 });
  });

  it('keeps a fixed kid only while one generation is listed', () => {
    expect(parse({ signingKid: 'k1', signingKeyGenerations: '2' }).signingKid).toBe('k1');
    expect(parse({ clientAuthMethod: 'private_key_jwt', assertionKid: 'a1', signingKeyGenerations: '1,2' }).assertionKid).toBe('a1');
  });

  it.each([
    [{ signingKeyGenerations: '1,x' }, 'signingKeyGenerations', /integers from 1 to 999, got x/],
    [{ signingKeyGenerations: '0' }, 'signingKeyGenerations', /integers from 1 to 999/],
    [{ signingKeyGenerations: '-1' }, 'signingKeyGenerations', /integers from 1 to 999/],
    [{ signingKeyGenerations: '1.5' }, 'signingKeyGenerations', /integers/],
    [{ signingKeyGenerations: '1000' }, 'signingKeyGenerations', /integers from 1 to 999/],
    [{ signingKeyGenerations: '1,2,1' }, 'signingKeyGenerations', /generation 1 twice/],
    [{ signingKeyGenerations: [{ n: 1 }] }, 'signingKeyGenerations', /comma-separated list/],
    [{ activeSigningKey: '2' }, 'activeSigningKey', /one of the generations signingKeyGenerations lists \(1\), got 2/],
    [{ signingKeyGenerations: '2,3', activeSigningKey: '1' }, 'activeSigningKey', /\(2, 3\), got 1/],
    [{ signingKeyGenerations: '1,2', activeSigningKey: 'two' }, 'activeSigningKey', /integer/],
    [{ signingKeyGenerations: '1,2', signingKid: 'k1' }, 'signingKid', /more than one generation/],
    [{ assertionKeyGenerations: '1,2' }, 'assertionKeyGenerations', /second key/],
    [{ activeAssertionKey: '1' }, 'activeAssertionKey', /second key/],
    [{ assertionKey: 'published', assertionKeyGenerations: '1,1' }, 'assertionKeyGenerations', /twice/],
    [{ assertionKey: 'published', activeAssertionKey: '2' }, 'activeAssertionKey', /assertionKeyGenerations lists \(1\)/],
    [{ clientAuthMethod: 'private_key_jwt', assertionKeyGenerations: '1,2', assertionKid: 'a1' }, 'assertionKid', /more than one generation/],
  ])('refuses key generations %j naming the key', (context, key, message) => {
    const error = errorOf(context);
    expect(error.keys).toEqual([key]);
    expect(error.message).toContain(`"${key}"`);
    expect(error.message).toMatch(message);
  });

  it.each([
    [{ issuer: undefined }, 'issuer', /is required/],
    [{ issuer: '' }, 'issuer', /is required/],
    [{ issuer: 'http://tenant.auth0.com/' }, 'issuer', /https/],
    [{ issuer: 'tenant.auth0.com' }, 'issuer', /absolute URL/],
    [{ issuer: 'https://tenant.auth0.com/#x' }, 'issuer', /fragment/],
    [{ issuer: 'https://tenant.auth0.com/?a=b' }, 'issuer', /query/],
    [{ clientId: undefined }, 'clientId', /is required/],
    [{ clientId: 'tab\there' }, 'clientId', /printable/],
    [{ allowedOrigins: undefined }, 'allowedOrigins', /is required/],
    [{ allowedOrigins: 'https://app.example.com/' }, 'allowedOrigins', /not an origin/],
    [{ allowedOrigins: 'https://App.example.com' }, 'allowedOrigins', /not an origin/],
    [{ allowedOrigins: 'http://app.example.com' }, 'allowedOrigins', /https/],
    [{ allowedOrigins: 'https://app.example.com,*' }, 'allowedOrigins', /absolute URL/],
    [{ allowedRedirectUris: ' , ' }, 'allowedRedirectUris', /is required/],
    [{ allowedRedirectUris: 'http://app.example.com/cb' }, 'allowedRedirectUris', /https/],
    [{ allowedRedirectUris: '/callback' }, 'allowedRedirectUris', /absolute URL/],
    [{ allowedRedirectUris: 'https://app.example.com/cb#frag' }, 'allowedRedirectUris', /fragment/],
    [{ signingAlg: 'ES256' }, 'signingAlg', /PS256, RS256, RS384/],
    [{ signingAlg: 'none' }, 'signingAlg', /one of/],
    [{ keySpec: 'RSA_1024' }, 'keySpec', /RSA_2048, RSA_3072, RSA_4096/],
    [{ clientAuthMethod: 'none' }, 'clientAuthMethod', /one of/],
    [{ clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:par-proxy' }, 'clientSecretArn', /complete ARN/],
    [{ clientSecretArn: 'my-secret' }, 'clientSecretArn', /complete ARN/],
    [{ clientAuthMethod: 'private_key_jwt', clientSecretArn: SECRET_ARN }, 'clientSecretArn', /applies only with clientAuthMethod=client_secret_post or client_secret_basic/],
    [{ separateAssertionKey: 'true' }, 'separateAssertionKey', /replaced by assertionKey=separate/],
    [{ sharedAssertionKey: 'false' }, 'sharedAssertionKey', /replaced by assertionKey/],
    [{ assertionKey: 'separate' }, 'assertionKey', /=separate applies only with clientAuthMethod=private_key_jwt; assertionKey=published/],
    [{ assertionKey: 'shared' }, 'assertionKey', /=shared applies only with clientAuthMethod=private_key_jwt/],
    [{ clientAuthMethod: 'private_key_jwt', assertionKey: 'shared', assertionKid: 'a1' }, 'assertionKid', /second key/],
    [{ clientAuthMethod: 'private_key_jwt', assertionKey: 'published', assertionKid: 'a1' }, 'assertionKid', /unset while assertionKey=published/],
    [{ reservedConcurrency: 'par=0' }, 'reservedConcurrency', /0 would stop the function/],
    [{ reservedConcurrency: 'par=-1' }, 'reservedConcurrency', /integer from 1/],
    [{ reservedConcurrency: 'par=1.5' }, 'reservedConcurrency', /integer from 1/],
    [{ reservedConcurrency: '100' }, 'reservedConcurrency', /name=N/],
    [{ reservedConcurrency: 'authorize=1' }, 'reservedConcurrency', /does not exist: authorize \(one of par, token, jwks/],
    [{ reservedConcurrency: 'par=1,par=2' }, 'reservedConcurrency', /par twice/],
    [{ reservedConcurrency: 'off,par=1' }, 'reservedConcurrency', /name=N/],
    [{ breakGlassPrincipalArn: 'arn:aws:sts::111122223333:assumed-role/Admin/alice' }, 'breakGlassPrincipalArn', /role or user ARN/],
    [{ breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/*' }, 'breakGlassPrincipalArn', /role or user ARN/],
    [{ breakGlassPrincipalArn: 'arn:aws:iam::111122223333:root' }, 'breakGlassPrincipalArn', /role or user ARN/],
    [{ breakGlassPrincipalArn: 'Admin' }, 'breakGlassPrincipalArn', /role or user ARN/],
    [{ clientAuthMethod: 'private_key_jwt', breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/Admin' }, 'breakGlassPrincipalArn', /applies only with clientAuthMethod=client_secret/],
    [{ clientSecretArn: SECRET_ARN, breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/Admin' }, 'breakGlassPrincipalArn', /imported secret/],
    [{ assertionKey: 'yes' }, 'assertionKey', /one of separate, shared, published/],
    [{ assertionKey: 'true' }, 'assertionKey', /now takes separate, shared, published/],
    [{ allowPromptNone: 'yes' }, 'allowPromptNone', /true or false/],
    [{ assertionKid: 'k1' }, 'assertionKid', /second key/],
    [{ signingKid: 'has space' }, 'signingKid', /printable/],
    [{ alarmEmail: 'ops' }, 'alarmEmail', /e-mail/],
    [{ parEndpoint: 'http://tenant.auth0.com/oauth/par' }, 'parEndpoint', /https/],
    [{ tokenEndpoint: 'http://tenant.auth0.com/oauth/token' }, 'tokenEndpoint', /https/],
    [{ tokenEndpoint: 'http://localhost/token' }, 'tokenEndpoint', /loopback/],
    [{ issuer: 'https://127.0.0.1/' }, 'issuer', /loopback/],
    [{ requestObjectTtl: '601' }, 'requestObjectTtl', /10 to 600/],
    [{ requestObjectTtl: '1e2' }, 'requestObjectTtl', /integer/],
    [{ upstreamTimeoutMs: '9000' }, 'upstreamTimeoutMs', /100 to 8000/],
    [{ publishedKeyArns: 'alias/old' }, 'publishedKeyArns', /KMS key ARNs/],
    [{ memorySize: '64' }, 'memorySize', /128 to 10240/],
    [{ throttleRateLimit: '0' }, 'throttleRateLimit', /integer/],
    [{ stackName: '1stack' }, 'stackName', /letter/],
    [{ clientSecret: 's3cr3t' }, 'clientSecret', /Secrets Manager/],
    [{ issuer: { nested: true } }, 'issuer', /string/],
  ])('refuses %j naming the key', (context, key, message) => {
    const error = errorOf(context);
    expect(error.keys).toEqual([key]);
    expect(error.message).toContain(`"${key}"`);
    expect(error.message).toMatch(message);
  });

  it('never echoes a passed client secret', () => {
    expect(errorOf({ clientSecret: 's3cr3t-value' }).message).not.toContain('s3cr3t-value');
  });

  it('names every missing and invalid key at once, with a command that works', () => {
    const error = errorOf({ issuer: undefined, clientId: undefined, allowedOrigins: 'https://app.example.com/', memorySize: '64', clientSecret: 'x' });
    expect(error.keys).toEqual(['clientSecret', 'issuer', 'clientId', 'allowedOrigins', 'memorySize']);
    expect(error.message).toContain('CDK context "issuer" is required, e.g. -c issuer=https://tenant.auth0.com/');
    const printed = formatConfigError(error);
    expect(printed).toMatch(/^Configuration error: 5 CDK context values need fixing:\n {2}CDK context "clientSecret"/);
    expect(printed).toContain(
      '  npx cdk synth -c issuer=https://tenant.auth0.com/ -c clientId=abc123 -c allowedRedirectUris=https://app.example.com/callback -c allowedOrigins=https://app.example.com',
    );
    // The example command itself is a valid deployment.
    const example = Object.fromEntries([...exampleCommand().matchAll(/-c (\w+)=(\S+)/g)].map((match) => [match[1], match[2]]));
    expect(() => parseInfraConfig((key) => example[key])).not.toThrow();
  });

  it('every context key is documented in docs/deploy.md, with its default', () => {
    const docs = readFileSync(join(PROJECT_ROOT, 'docs/deploy.md'), 'utf8');
    const rows = contextKeyRows(docs);
    expect(Object.keys(rows).sort()).toEqual([...CONTEXT_KEYS].sort());
    for (const setting of SETTINGS) {
      if (setting.context === undefined) continue;
      const row = rows[setting.context]!;
      // Required always, or under another key's value, e.g. "with `proxyMode=bff`".
      const required = setting.required === undefined ? '' : setting.required === true ? 'yes' : `with \`${setting.required.setting.context}=${setting.required.is.join(' or ')}\``;
      expect(row.required, setting.context).toBe(required);
      if (setting.default !== undefined) expect(row.defaults, setting.context).toContain(`\`${setting.default}\``);
    }
    expect(rows.reservedConcurrency!.defaults).toContain(`\`${FUNCTIONS.map((fn) => `${fn.name}=${fn.reservedConcurrency}`).join(',')}\``);
  });
});

describe('parseInfraConfig: proxyMode=bff (issue 12)', () => {
  const BFF = { ...BFF_CONTEXT };

  it('relay by default; bff takes its own callback instead of the SPA\'s redirect URIs', () => {
    expect(parse({}).proxyMode).toBe('relay');
    const config = parse(BFF);
    expect(config).toMatchObject({ proxyMode: 'bff', basePath: '' });
    expect(config.environment).toEqual({
      ISSUER: 'https://tenant.auth0.com/',
      CLIENT_ID: 'abc',
      ALLOWED_ORIGINS: 'https://app.example.com',
      PROXY_MODE: 'bff',
      REDIRECT_URI: 'https://app.example.com/callback',
    });
  });

  it('requires redirectUri in bff mode, allowedRedirectUris only in relay mode', () => {
    expect(errorOf({ ...BFF, redirectUri: undefined }).problems).toEqual([
      { name: 'redirectUri', reason: 'is required with proxyMode=bff', missing: true },
    ]);
    expect(errorOf({ allowedRedirectUris: undefined }).problems).toEqual([
      { name: 'allowedRedirectUris', reason: 'is required with proxyMode=relay', missing: true },
    ]);
    expect(formatConfigError(errorOf({ ...BFF, redirectUri: undefined }))).toContain('-c redirectUri=https://app.example.com/callback');
  });

  it('refuses allowedRedirectUris in bff mode, and the bff\'s keys in relay mode: a value nothing reads', () => {
    expect(errorOf({ ...BFF, allowedRedirectUris: 'https://app.example.com/callback' }).message).toMatch(
      /"allowedRedirectUris" applies only with proxyMode=relay: in bff mode the one redirect URI is the proxy's own callback, redirectUri/,
    );
    const bffOnly = {
      redirectUri: 'https://app.example.com/callback',
      appUrl: 'https://app.example.com/',
      postLogoutRedirectUri: 'https://app.example.com/',
      apiUpstreams: '{"orders":"https://api.example.com"}',
      sessionMaxAge: '3600',
      basePath: '/auth',
    };
    expect(problemKeys(bffOnly)).toEqual(Object.keys(bffOnly));
    for (const reason of errorOf(bffOnly).problems.map((problem) => problem.reason)) expect(reason).toBe('applies only with proxyMode=bff');
  });

  it('redirectUri must be the bff\'s own callback under basePath, as the bff checks at cold start', () => {
    expect(parse({ ...BFF, basePath: '/auth', redirectUri: 'https://app.example.com/auth/callback' }).basePath).toBe('/auth');
    expect(errorOf({ ...BFF, basePath: '/auth' }).message).toMatch(/"redirectUri" must be this proxy's own callback, ending in \/auth\/callback/);
    expect(problemKeys({ ...BFF, redirectUri: 'https://app.example.com/cb' })).toEqual(['redirectUri']);
    expect(problemKeys({ ...BFF, redirectUri: 'https://app.example.com/callback?x=1' })).toEqual(['redirectUri']);
    // A bad basePath is named once, not also as a redirectUri that does not match it.
    expect(problemKeys({ ...BFF, basePath: 'auth/' })).toEqual(['basePath']);
  });

  it('passes apiUpstreams on as written (JSON), after checking it by the bff\'s rule', () => {
    const upstreams = '{"orders": {"url": "https://api.example.com/v1", "methods": ["GET"]}}';
    expect(parse({ ...BFF, apiUpstreams: upstreams }).environment.API_UPSTREAMS).toBe(upstreams);
    expect(errorOf({ ...BFF, apiUpstreams: '{"orders": "http://api.example.com"}' }).keys).toEqual(['apiUpstreams']);
    expect(errorOf({ ...BFF, proxyMode: 'edge' }).message).toMatch(/"proxyMode" .*one of relay, bff/);
  });
});

/**
 * docs/deploy.md's "Context keys" table by key: its Required and Default cells. A row may name
 * several keys (`a`, `b`), and then its defaults in the same order.
 */
function contextKeyRows(docs: string): Record<string, { required: string; defaults: string }> {
  const section = docs.slice(docs.indexOf('### Context keys'), docs.indexOf('Never pass the client secret'));
  const rows: Record<string, { required: string; defaults: string }> = {};
  for (const line of section.split('\n').filter((row) => row.startsWith('| `'))) {
    const [keys, required, defaults] = line.split('|').slice(1, 4).map((cell) => cell.trim()) as [string, string, string];
    for (const key of keys.matchAll(/`(\w+)`/g)) rows[key[1]!] = { required, defaults };
  }
  return rows;
}
