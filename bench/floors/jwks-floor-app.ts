import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { Hono } from 'hono';

/**
 * The floor of GET /.well-known/jwks.json: hono and a bare KMSClient; GetPublicKey once, the DER
 * turned into a JWK with its RFC 7638 thumbprint by node:crypto, cached for the container.
 */
export function jwksFloorApp(env: NodeJS.ProcessEnv = process.env): Hono {
  const kms = new KMSClient({});
  let jwks: Promise<object> | undefined;
  const load = async () => {
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: env.KMS_KEY_ID }));
    const { n, e } = createPublicKey({ key: Buffer.from(PublicKey ?? []), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    const kid = env.SIGNING_KID ?? createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
    return { keys: [{ kty: 'RSA', n, e, kid, alg: 'PS256', use: 'sig' }] };
  };

  const app = new Hono();
  app.get('/.well-known/jwks.json', async (c) => c.json(await (jwks ??= load()), 200, { 'Cache-Control': 'public, max-age=300' }));
  return app;
}
