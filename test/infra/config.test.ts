import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/bundling.ts';
import { CONTEXT_KEYS, DEFAULTS, InfraConfigError, parseInfraConfig } from '../../infra/config.ts';
import { BASE_CONTEXT } from './helpers.ts';

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

describe('parseInfraConfig', () => {
  it('gives the README example its defaults', () => {
    expect(parse({})).toEqual({
      stackName: 'ParProxy',
      issuer: 'https://tenant.auth0.com/',
      clientId: 'abc',
      clientAuthMethod: 'client_secret_post',
      allowedOrigins: ['https://app.example.com'],
      allowedRedirectUris: ['https://app.example.com/callback'],
      signingAlg: 'PS256',
      keySpec: 'RSA_2048',
      signingKeyGenerations: { listed: [1], active: 1 },
      signingKid: undefined,
      clientSecretArn: undefined,
      breakGlassPrincipalArn: undefined,
      assertionKey: false,
      assertionKeyGenerations: { listed: [1], active: 1 },
      assertionKid: undefined,
      sharedAssertionKey: false,
      alarmEmail: undefined,
      parEndpoint: undefined,
      authorizationEndpoint: undefined,
      tokenEndpoint: undefined,
      requestObjectTtl: undefined,
      upstreamTimeoutMs: undefined,
      allowedAuthorizationDetailsTypes: [],
      allowPromptNone: false,
      publishedKeyArns: [],
      publicKeyReadByAccount: false,
      memorySize: DEFAULTS.memorySize,
      reservedConcurrency: { par: 100, token: 50, jwks: 20 },
      throttle: { rateLimit: 50, burstLimit: 100 },
    });
  });

  it('keeps the issuer exactly as given, with or without trailing slash', () => {
    expect(parse({ issuer: 'https://tenant.auth0.com/' }).issuer).toBe('https://tenant.auth0.com/');
    expect(parse({ issuer: 'https://idp.example.com/realms/demo' }).issuer).toBe('https://idp.example.com/realms/demo');
  });

  it('reads lists from comma-separated strings and from cdk.json arrays', () => {
    const config = parse({
      allowedOrigins: ' https://a.example.com, https://b.example.com:8443 ,http://localhost:5173',
      allowedRedirectUris: ['https://a.example.com/cb', 'http://127.0.0.1:5173/cb'],
      publishedKeyArns: `${KEY_ARN},${KEY_ARN}`,
    });
    expect(config.allowedOrigins).toEqual(['https://a.example.com', 'https://b.example.com:8443', 'http://localhost:5173']);
    expect(config.allowedRedirectUris).toEqual(['https://a.example.com/cb', 'http://127.0.0.1:5173/cb']);
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
      assertionKey: 'true',
      assertionKid: 'assertion-1',
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
      requestObjectTtl: 120,
      upstreamTimeoutMs: 2500,
      assertionKey: true,
      assertionKid: 'assertion-1',
      allowPromptNone: true,
      publicKeyReadByAccount: true,
      memorySize: 1024,
      throttle: { rateLimit: 20, burstLimit: 40 },
    });
  });

  it('gives private_key_jwt its own client assertion key unless sharedAssertionKey=true (one key pair per purpose)', () => {
    expect(parse({ clientAuthMethod: 'private_key_jwt' })).toMatchObject({ assertionKey: true, sharedAssertionKey: false });
    expect(parse({ clientAuthMethod: 'private_key_jwt', separateAssertionKey: 'true' })).toMatchObject({ assertionKey: true, sharedAssertionKey: false });
    expect(parse({ clientAuthMethod: 'private_key_jwt', sharedAssertionKey: 'true' })).toMatchObject({ assertionKey: false, sharedAssertionKey: true });
    // The upgrade path: the second key is published while the shared key still signs, then switched to.
    expect(parse({ clientAuthMethod: 'private_key_jwt', sharedAssertionKey: 'true', assertionKey: 'true' })).toMatchObject({ assertionKey: true, sharedAssertionKey: true });
    expect(parse({ clientAuthMethod: 'private_key_jwt', assertionKid: 'a1' }).assertionKid).toBe('a1');
    expect(parse({ clientAuthMethod: 'private_key_jwt', assertionKeyGenerations: '1,2' }).assertionKeyGenerations).toEqual({ listed: [1, 2], active: 1 });
    expect(parse({}).assertionKey).toBe(false);
  });

  it('reads reserved concurrency per function, defaults for the others, or off', () => {
    expect(parse({ reservedConcurrency: 'par=200' }).reservedConcurrency).toEqual({ par: 200, token: 50, jwks: 20 });
    expect(parse({ reservedConcurrency: ' jwks = 5 , token=10 ' }).reservedConcurrency).toEqual({ par: 100, token: 10, jwks: 5 });
    expect(parse({ reservedConcurrency: ['par=3', 'token=2', 'jwks=1'] }).reservedConcurrency).toEqual({ par: 3, token: 2, jwks: 1 });
    expect(parse({ reservedConcurrency: 'off' }).reservedConcurrency).toBeUndefined();
    expect(parse({ reservedConcurrency: 'none' }).reservedConcurrency).toBeUndefined();
    expect(parse({ reservedConcurrency: '' }).reservedConcurrency).toEqual({ par: 100, token: 50, jwks: 20 });
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
    const assertion = parse({ clientAuthMethod: 'private_key_jwt', separateAssertionKey: 'true', assertionKeyGenerations: '1,2', activeAssertionKey: '2' });
    expect(assertion.assertionKeyGenerations).toEqual({ listed: [1, 2], active: 2 });
    expect(assertion.signingKeyGenerations).toEqual({ listed: [1], active: 1 });
  });

  it('keeps a fixed kid only while one generation is listed', () => {
    expect(parse({ signingKid: 'k1', signingKeyGenerations: '2' }).signingKid).toBe('k1');
    expect(parse({ assertionKey: 'true', assertionKid: 'a1', signingKeyGenerations: '1,2' }).assertionKid).toBe('a1');
  });

  it.each([
    [{ signingKeyGenerations: '1,x' }, 'signingKeyGenerations', /integers from 1 to 999, got x/],
    [{ signingKeyGenerations: '0' }, 'signingKeyGenerations', /integers from 1 to 999/],
    [{ signingKeyGenerations: '-1' }, 'signingKeyGenerations', /integers from 1 to 999/],
    [{ signingKeyGenerations: '1.5' }, 'signingKeyGenerations', /integers/],
    [{ signingKeyGenerations: '1000' }, 'signingKeyGenerations', /integers from 1 to 999/],
    [{ signingKeyGenerations: '1,2,1' }, 'signingKeyGenerations', /generation 1 twice/],
    [{ signingKeyGenerations: [{ n: 1 }] }, 'signingKeyGenerations', /list of generation numbers/],
    [{ activeSigningKey: '2' }, 'activeSigningKey', /one of the generations signingKeyGenerations lists \(1\), got 2/],
    [{ signingKeyGenerations: '2,3', activeSigningKey: '1' }, 'activeSigningKey', /\(2, 3\), got 1/],
    [{ signingKeyGenerations: '1,2', activeSigningKey: 'two' }, 'activeSigningKey', /integer/],
    [{ signingKeyGenerations: '1,2', signingKid: 'k1' }, 'signingKid', /more than one generation/],
    [{ assertionKeyGenerations: '1,2' }, 'assertionKeyGenerations', /second key/],
    [{ activeAssertionKey: '1' }, 'activeAssertionKey', /second key/],
    [{ assertionKey: 'true', assertionKeyGenerations: '1,1' }, 'assertionKeyGenerations', /twice/],
    [{ assertionKey: 'true', activeAssertionKey: '2' }, 'activeAssertionKey', /assertionKeyGenerations lists \(1\)/],
    [{ assertionKey: 'true', assertionKeyGenerations: '1,2', assertionKid: 'a1' }, 'assertionKid', /more than one generation/],
  ])('refuses key generations %j naming the key', (context, key, message) => {
    const error = errorOf(context);
    expect(error.key).toBe(key);
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
    [{ clientAuthMethod: 'private_key_jwt', clientSecretArn: SECRET_ARN }, 'clientSecretArn', /private_key_jwt/],
    [{ separateAssertionKey: 'true' }, 'separateAssertionKey', /private_key_jwt/],
    [{ sharedAssertionKey: 'true' }, 'sharedAssertionKey', /private_key_jwt/],
    [{ clientAuthMethod: 'private_key_jwt', sharedAssertionKey: 'yes' }, 'sharedAssertionKey', /true or false/],
    [{ clientAuthMethod: 'private_key_jwt', sharedAssertionKey: 'true', separateAssertionKey: 'true' }, 'sharedAssertionKey', /contradicts separateAssertionKey/],
    [{ clientAuthMethod: 'private_key_jwt', sharedAssertionKey: 'true', assertionKid: 'a1' }, 'assertionKid', /second key/],
    [{ reservedConcurrency: 'par=0' }, 'reservedConcurrency', /0 would stop the function/],
    [{ reservedConcurrency: 'par=-1' }, 'reservedConcurrency', /integer from 1/],
    [{ reservedConcurrency: 'par=1.5' }, 'reservedConcurrency', /integer from 1/],
    [{ reservedConcurrency: '100' }, 'reservedConcurrency', /name=N/],
    [{ reservedConcurrency: 'authorize=1' }, 'reservedConcurrency', /par, token, jwks/],
    [{ reservedConcurrency: 'par=1,par=2' }, 'reservedConcurrency', /par twice/],
    [{ reservedConcurrency: 'off,par=1' }, 'reservedConcurrency', /name=N/],
    [{ breakGlassPrincipalArn: 'arn:aws:sts::111122223333:assumed-role/Admin/alice' }, 'breakGlassPrincipalArn', /role or user ARN/],
    [{ breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/*' }, 'breakGlassPrincipalArn', /role or user ARN/],
    [{ breakGlassPrincipalArn: 'arn:aws:iam::111122223333:root' }, 'breakGlassPrincipalArn', /role or user ARN/],
    [{ breakGlassPrincipalArn: 'Admin' }, 'breakGlassPrincipalArn', /role or user ARN/],
    [{ clientAuthMethod: 'private_key_jwt', breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/Admin' }, 'breakGlassPrincipalArn', /private_key_jwt/],
    [{ clientSecretArn: SECRET_ARN, breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/Admin' }, 'breakGlassPrincipalArn', /imported secret/],
    [{ assertionKey: 'yes' }, 'assertionKey', /true or false/],
    [{ allowPromptNone: 'yes' }, 'allowPromptNone', /true or false/],
    [{ assertionKid: 'k1' }, 'assertionKid', /second key/],
    [{ signingKid: 'has space' }, 'signingKid', /printable/],
    [{ alarmEmail: 'ops' }, 'alarmEmail', /e-mail/],
    [{ parEndpoint: 'http://tenant.auth0.com/oauth/par' }, 'parEndpoint', /https/],
    [{ tokenEndpoint: 'http://localhost/token' }, 'tokenEndpoint', /https/],
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
    expect(error.key).toBe(key);
    expect(error.message).toContain(`"${key}"`);
    expect(error.message).toMatch(message);
  });

  it('never echoes a passed client secret', () => {
    expect(errorOf({ clientSecret: 's3cr3t-value' }).message).not.toContain('s3cr3t-value');
  });

  it('every context key is documented in docs/deploy.md', () => {
    const docs = readFileSync(join(PROJECT_ROOT, 'docs/deploy.md'), 'utf8');
    for (const key of CONTEXT_KEYS) expect(docs, key).toContain(`\`${key}\``);
  });
});
