import { secretsManagerClient } from '../../functions/adapters/aws-clients.ts';
import { SessionKeySource } from '../../functions/adapters/session-keys.ts';
import { clientAuthenticationFor } from '../../functions/app/wiring.ts';
import { noSigner, splitHandler } from './split-app.ts';

/** ANY /api/{name}/... alone: the session keys, and the client's credentials for an inline refresh. */
export const handler = await splitHandler((config, server) => {
  const clientAuthentication = clientAuthenticationFor(config, noSigner, Date.now);
  const sessionKeys = new SessionKeySource(secretsManagerClient({ timeoutMs: config.upstreamTimeoutMs }), config.sessionKeysSecretId);
  return {
    parts: { clientAuthentication, sessionKeys },
    loads: [
      (deadline) => server.endpoint('token', deadline),
      (deadline) => clientAuthentication.prefetch(deadline),
      (deadline) => sessionKeys.prefetch(deadline),
    ],
  };
});
