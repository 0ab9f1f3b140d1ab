import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaHandler } from '../../functions/app/lambda.ts';
import { loadParConfig, loadTokenConfig } from '../../functions/core/config.ts';
import type { FunctionName } from '../../functions/manifest.ts';
import { fromEnv as tokenFromEnv } from '../../functions/token/wiring.ts';
import { invoke } from '../helpers/harness.ts';
import {
  functionEnv,
  identityPermissions,
  refName,
  resolvedEnv,
  resources,
  roleLogicalId,
  synthesize,
  type Statement,
  type Synthesized,
} from './helpers.ts';

/**
 * Relay mode with dpop=true (issue 14, RFC 9449): the token function seals the SPA's refresh tokens
 * to its DPoP key with the session keys, so the stack creates that secret and only the token function
 * reads it; API Gateway's CORS lets the SPA send DPoP and read DPoP-Nonce.
 */
const SYNTH_TIMEOUT = 60_000;
const logicalId = (synth: Synthesized, value: string) => refName(synth.stack.resolve(value)).replace(/^(Ref|GetAtt):/, '').replace(/\.Arn$/, '');
const secretPermissions = (synth: Synthesized, name: FunctionName) =>
  identityPermissions(synth.template, name).filter((p) => p.startsWith('secretsmanager:GetSecretValue') || p.startsWith('kms:Decrypt'));

// securityProfile=fapi2 implies dpop (functions/settings/profile.ts dpopOn): the stack builds the same.
describe.each([
  ['dpop=true', { dpop: 'true' }],
  ['securityProfile=fapi2 (which implies dpop)', { securityProfile: 'fapi2', clientAuthMethod: 'private_key_jwt', signingAlg: 'PS256' }],
])('relay mode with %s', (_name, context) => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize(context);
  }, SYNTH_TIMEOUT);

  it('creates the session keys, which the token function alone reads (and decrypts through Secrets Manager)', () => {
    const secret = logicalId(synth, synth.stack.sessionKeys!.secret.secretArn);
    const key = logicalId(synth, synth.stack.sessionKeys!.encryptionKey.keyArn);
    expect(secretPermissions(synth, 'token')).toEqual(expect.arrayContaining([`secretsmanager:GetSecretValue Ref:${secret}`, `kms:Decrypt GetAtt:${key}.Arn`]));
    for (const name of ['par', 'jwks'] as const) expect(secretPermissions(synth, name).join()).not.toContain(secret);
    const policy = Object.values(resources(synth.template, 'AWS::SecretsManager::ResourcePolicy')).find(
      (p) => JSON.stringify(p.Properties!.SecretId) === JSON.stringify({ Ref: secret }),
    )!;
    const [deny] = (policy.Properties!.ResourcePolicy as unknown as { Statement: Statement[] }).Statement;
    expect(deny!.Condition).toEqual({ ArnNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': [roleLogicalId(synth.template, 'token'), 'Arn'] }] } });
  });

  it('gives token the session keys secret, and par and token load their environment with DPoP on', () => {
    const token = resolvedEnv(functionEnv(synth.template, 'token'));
    expect(loadTokenConfig(token).dpop?.sessionKeysSecretId).toMatch(/^arn:aws:secretsmanager:/);
    expect(loadParConfig(resolvedEnv(functionEnv(synth.template, 'par'))).dpop).toBe(true);
    expect(functionEnv(synth.template, 'par').SESSION_KEYS_SECRET_ID).toBeUndefined();
  });

  it("API Gateway's CORS allows the DPoP header as the token function's own preflight does, and exposes DPoP-Nonce (RFC 9449 8)", async () => {
    const cors = Object.values(resources(synth.template, 'AWS::ApiGatewayV2::Api'))[0]!.Properties!.CorsConfiguration as Record<string, unknown>;
    const handler = lambdaHandler(tokenFromEnv(resolvedEnv(functionEnv(synth.template, 'token'))).app);
    const answer = await invoke(handler, {
      method: 'OPTIONS',
      path: '/token',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,dpop' },
    });
    const list = (value: unknown) => String(value).split(',').map((item) => item.trim().toLowerCase()).sort();
    expect(answer.status).toBe(204);
    expect(list(cors.AllowHeaders)).toEqual(list(answer.headers['access-control-allow-headers']));
    expect(list(cors.ExposeHeaders)).toEqual(['dpop-nonce', 'retry-after']);
  });
});

describe('relay mode without dpop', () => {
  it('creates no session keys, gives token no secret beyond the client secret, and CORS no DPoP', () => {
    const synth = synthesize();
    expect(synth.stack.sessionKeys).toBeUndefined();
    expect(functionEnv(synth.template, 'token').SESSION_KEYS_SECRET_ID).toBeUndefined();
    const cors = Object.values(resources(synth.template, 'AWS::ApiGatewayV2::Api'))[0]!.Properties!.CorsConfiguration as Record<string, unknown>;
    expect(cors.AllowHeaders).toEqual(['content-type']);
    expect(cors.ExposeHeaders).toEqual(['retry-after']);
  }, SYNTH_TIMEOUT);
});
