import type { Hono } from 'hono';
import type { PublicJwk } from '../adapters/kms-signer.ts';
import type { Telemetry } from '../app/observability.ts';
import { proxyApp, startDeadline, type ProxyAppOptions, type ProxyEnv } from '../app/proxy-app.ts';
import type { PublishedKeys } from './published-keys.ts';

export interface JwksDependencies {
  /** Every key the proxy signs with, or is about to (rotation), in publication order. */
  readonly keys: Pick<PublishedKeys, 'read'>;
  readonly telemetry: Telemetry;
  readonly originVerification?: ProxyAppOptions['originVerification'];
  readonly clock: () => number;
  readonly upstreamTimeoutMs: number;
}

/**
 * Five minutes: short enough that a key published ahead of a rotation is seen well before it signs,
 * long enough that the authorization server and CDNs spare KMS.
 */
export const JWKS_MAX_AGE_SECONDS = 300;

/**
 * GET /.well-known/jwks.json: the public keys, from KMS GetPublicKey, cached per container. A
 * published-only key KMS will not read is left out (or served as last read) and named in the log
 * line; an active key that fails fails the answer.
 */
export function createJwksApp(deps: JwksDependencies): Hono<ProxyEnv> {
  const { clock } = deps;
  const app = proxyApp({ ...deps, failuresOnly: true });
  // The keys change only when a key is re-read: their JSON is made once per change, not per request.
  let serialized: { readonly keys: readonly PublicJwk[]; readonly body: string } | undefined;
  app.get('/.well-known/jwks.json', async (c) => {
    const deadline = startDeadline(c, clock, deps.upstreamTimeoutMs);
    // The keys are read in parallel: one KmsLatency for them all, when any was read from KMS.
    const read = await deadline.cached('kms', (signal) => deps.keys.read(signal));
    if (read.failures.length > 0) c.set('keyFailures', read.failures);
    if (read.activeFailure !== undefined) throw read.activeFailure.error;
    const { keys } = read;
    if (serialized?.keys.length !== keys.length || keys.some((key, i) => key !== serialized?.keys[i])) {
      serialized = { keys, body: JSON.stringify({ keys: uniqueByKid(keys) }) };
    }
    return c.body(serialized.body, 200, {
      'Content-Type': 'application/json',
      'Cache-Control': `public, max-age=${JWKS_MAX_AGE_SECONDS}`,
      // Public keys: any origin may read them.
      'Access-Control-Allow-Origin': '*',
    });
  });
  return app;
}

function uniqueByKid(keys: readonly PublicJwk[]): PublicJwk[] {
  return [...new Map(keys.map((key) => [key.kid, key])).values()];
}
