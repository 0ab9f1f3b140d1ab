import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Hono } from 'hono';
import { floorClientSecret } from './par-floor-app.ts';
import { rawPost } from './raw-post.ts';

/**
 * The floor of POST /token: hono, a bare SecretsManagerClient (GetSecretValue, cached) and one raw
 * keep-alive form POST to the token endpoint, whose answer is passed through.
 */
export function tokenFloorApp(env: NodeJS.ProcessEnv = process.env): Hono {
  const secret = floorClientSecret(env, new SecretsManagerClient({}));
  const tokenEndpoint = new URL(env.TOKEN_ENDPOINT ?? `${env.ISSUER}oauth/token`);

  const app = new Hono();
  app.post('/token', async (c) => {
    const body = await c.req.json<Record<string, string>>();
    const form = new URLSearchParams({ ...body, client_id: env.CLIENT_ID ?? '', client_secret: await secret() });
    const answer = await rawPost(tokenEndpoint, form.toString());
    return c.json(JSON.parse(answer.body) as object, 200, { 'Cache-Control': 'no-store' });
  });
  return app;
}
