import { secretsManagerClient } from '../../functions/adapters/aws-clients.ts';
import { IdTokenVerifier } from '../../functions/adapters/id-token.ts';
import { SessionKeySource } from '../../functions/adapters/session-keys.ts';
import { clientAuthenticationFor } from '../../functions/app/wiring.ts';
import { noSigner, splitHandler } from './split-app.ts';

/** GET /callback alone: opens the login cookie, redeems the code, verifies the ID token, seals the session. */
export const handler = await splitHandler((config, server) => {
  const clientAuthentication = clientAuthenticationFor(config, noSigner, Date.now);
  const sessionKeys = new SessionKeySource(secretsManagerClient({ timeoutMs: config.upstreamTimeoutMs }), config.sessionKeysSecretId);
  const idTokens = new IdTokenVerifier(server, config.clientId);
  return {
    parts: { clientAuthentication, sessionKeys, idTokens },
    loads: [
      (deadline) => server.endpoint('token', deadline),
      (deadline) => clientAuthentication.prefetch(deadline),
      (deadline) => sessionKeys.prefetch(deadline),
      (deadline) => idTokens.prefetch(deadline),
    ],
  };
});
