import { secretsManagerClient } from '../../functions/adapters/aws-clients.ts';
import { SessionKeySource } from '../../functions/adapters/session-keys.ts';
import { splitHandler } from './split-app.ts';

/** GET /session alone: the session keys, nothing else. */
export const handler = await splitHandler((config) => {
  const sessionKeys = new SessionKeySource(secretsManagerClient({ timeoutMs: config.upstreamTimeoutMs }), config.sessionKeysSecretId);
  return { parts: { sessionKeys }, loads: [(deadline) => sessionKeys.prefetch(deadline)] };
});
