import { kmsClient, secretsManagerClient } from '../../functions/adapters/aws-clients.ts';
import { KmsSigner } from '../../functions/adapters/kms-signer.ts';
import { SessionKeySource } from '../../functions/adapters/session-keys.ts';
import { clientAuthenticationFor } from '../../functions/app/wiring.ts';
import { splitHandler } from './split-app.ts';

/** POST /par alone: signs with KMS, pushes with the client's credentials, seals the login cookie. */
export const handler = await splitHandler((config, server) => {
  const signer = new KmsSigner(kmsClient({ timeoutMs: config.upstreamTimeoutMs }), config.signingKey);
  const clientAuthentication = clientAuthenticationFor(config, () => signer, Date.now);
  const sessionKeys = new SessionKeySource(secretsManagerClient({ timeoutMs: config.upstreamTimeoutMs }), config.sessionKeysSecretId);
  return {
    parts: { signer, clientAuthentication, sessionKeys },
    loads: [
      (deadline) => signer.prefetch(() => deadline.sharedSignal()),
      (deadline) => server.endpoint('par', deadline),
      (deadline) => clientAuthentication.prefetch(deadline),
      (deadline) => sessionKeys.prefetch(deadline),
    ],
  };
});
