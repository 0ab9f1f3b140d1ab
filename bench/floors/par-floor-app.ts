import { createHash } from 'node:crypto';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Hono } from 'hono';
import { rawPost } from './raw-post.ts';

/**
 * The floor of POST /par on this stack: a bare KMSClient and SecretsManagerClient (default
 * configuration, one command each), hono, and the irreducible work: read the JSON intent, build the
 * JWS signing input, hash it, KMS Sign (DIGEST), one raw keep-alive form POST to the PAR endpoint with
 * the (cached) client secret, answer the request_uri. No validation, no timeouts, no telemetry.
 */
export function parFloorApp(env: NodeJS.ProcessEnv = process.env): Hono {
  const push = floorPusher(env, floorClientSecret(env, new SecretsManagerClient({})));
  const app = new Hono();
  app.post('/par', async (c) => {
    const pushed = await push(await c.req.json<Record<string, unknown>>());
    return c.json({ request_uri: pushed.request_uri, expires_in: pushed.expires_in }, 201);
  });
  return app;
}

/** The client secret, read once: GetSecretValue and JSON.parse, nothing else. */
export function floorClientSecret(env: NodeJS.ProcessEnv, secrets: SecretsManagerClient): () => Promise<string> {
  let secret: Promise<string> | undefined;
  return () =>
    (secret ??= secrets
      .send(new GetSecretValueCommand({ SecretId: env.CLIENT_SECRET_ID }))
      .then((result) => (JSON.parse(result.SecretString ?? '{}') as { client_secret: string }).client_secret));
}

/** Signs the intent as a request object with KMS and pushes it: the PAR endpoint's answer. */
export function floorPusher(
  env: NodeJS.ProcessEnv,
  secret: () => Promise<string>,
): (intent: Record<string, unknown>) => Promise<{ request_uri: string; expires_in: number }> {
  const kms = new KMSClient({});
  const parEndpoint = new URL(env.PAR_ENDPOINT ?? `${env.ISSUER}oauth/par`);
  const clientId = env.CLIENT_ID ?? '';
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return async (intent) => {
    const iat = Math.floor(Date.now() / 1000);
    const header = { alg: 'PS256', typ: 'oauth-authz-req+jwt', kid: env.SIGNING_KID ?? 'floor' };
    const claims = { ...intent, iss: clientId, aud: env.ISSUER, client_id: clientId, iat, exp: iat + 60 };
    const input = `${encode(header)}.${encode(claims)}`;
    const { Signature } = await kms.send(
      new SignCommand({
        KeyId: env.KMS_KEY_ID,
        Message: createHash('sha256').update(input).digest(),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'RSASSA_PSS_SHA_256',
      }),
    );
    const request = `${input}.${Buffer.from(Signature ?? []).toString('base64url')}`;
    const form = new URLSearchParams({ client_id: clientId, client_secret: await secret(), request });
    return JSON.parse((await rawPost(parEndpoint, form.toString())).body) as { request_uri: string; expires_in: number };
  };
}
