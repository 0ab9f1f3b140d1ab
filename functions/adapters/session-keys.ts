import { hkdfSync } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AsyncCache } from '../core/cache.ts';
import type { Deadline } from '../core/deadline.ts';
import { ServerError } from '../core/errors.ts';
import {
  open as openSealed,
  seal as sealWith,
  sealKey,
  type KeyRing,
  type OpenResult,
  type Purpose,
  type SealablePayload,
  type SealKey,
} from '../core/sealed-cookie.ts';
import { secretStringField } from './client-secret.ts';
import { readCurrentAndPrevious } from './secret-stages.ts';

/**
 * The keys that seal the bff mode's cookies (and relay mode's DPoP-bound refresh tokens), from the
 * Secrets Manager secret SESSION_KEYS_SECRET_ID:
 * AWSCURRENT seals and opens, AWSPREVIOUS (after a rotation) only opens, so a rotation logs nobody
 * out; a cookie sealed before two rotations no longer opens. Each purpose gets its own key, derived
 * with HKDF-SHA256 (RFC 5869) from the material with a fixed salt and a per-purpose `info`, so that a
 * login cookie never opens as a session. Loaded once per container and cached 5 minutes (a Lambda
 * reading its key ring per request gets throttled: BFF notes), and reloaded early, at most once per
 * 30 s, when a cookie names a kid the ring does not know: another container has seen a rotation.
 */
export const SESSION_KEYS_TTL_MS = 5 * 60_000;
export const UNKNOWN_KID_RELOAD_MS = 30_000;
/** At least 32 characters: random base64 of that length carries 192 bits; less is not a key. */
export const MIN_MATERIAL_LENGTH = 32;

/** RFC 5869 2.2: a fixed, non-secret salt is fine; it only has to be the same in every container. */
const HKDF_SALT = 'par-proxy bff v1';
const HKDF_INFO: Readonly<Record<Purpose, string>> = {
  session: 'par-proxy session cookie v1',
  login: 'par-proxy login cookie v1',
  // Relay mode with DPoP: the refresh tokens /token hands the SPA (core/refresh-binding.ts).
  refresh: 'par-proxy refresh token v1',
  // SESSION_STORE=dynamodb: the session records in the table, never a cookie.
  record: 'par-proxy session record v1',
};

export type SessionKeys = Readonly<Record<Purpose, KeyRing>>;

export class SessionKeySource {
  private readonly cache: AsyncCache<SessionKeys>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.cache = new AsyncCache((signal) => this.load(signal), SESSION_KEYS_TTL_MS, clock);
  }

  /** The rings of both purposes. `signal` is called only when they have to be loaded. */
  keys(signal: () => AbortSignal): Promise<SessionKeys> {
    return this.cache.get(signal);
  }

  /**
   * A cookie named a kid the ring does not know: load again, unless that was done in the last
   * UNKNOWN_KID_RELOAD_MS (forged kids must not turn into a Secrets Manager call each). Concurrent
   * callers share one reload (the SPA's parallel calls after a rotation all carry the new kid), and a
   * failed reload fails only its callers: the cached rings stay for everyone else.
   */
  async reloadForUnknownKid(signal: () => AbortSignal): Promise<SessionKeys> {
    return (await this.cache.refresh(signal, UNKNOWN_KID_RELOAD_MS)) ?? this.keys(signal);
  }

  seal<T extends SealablePayload>(payload: T, purpose: Purpose, signal: () => AbortSignal): Promise<string> {
    return this.keys(signal).then((keys) => sealWith(payload, purpose, keys[purpose]));
  }

  /** Opens a cookie value (core/sealed-cookie.ts `open`), reloading once for an unknown kid. */
  async open(value: string, purpose: Purpose, now: number, signal: () => AbortSignal): Promise<OpenResult> {
    const result = await openSealed(value, purpose, (await this.keys(signal))[purpose], now);
    if (result.reason !== 'unknown_kid') return result;
    return openSealed(value, purpose, (await this.reloadForUnknownKid(signal))[purpose], now);
  }

  /** Loads the rings during INIT, so that the first request does not wait for Secrets Manager. */
  async prefetch(deadline: Deadline): Promise<void> {
    await this.keys(() => deadline.sharedSignal());
  }

  private async load(signal: AbortSignal): Promise<SessionKeys> {
    const { current, previous } = await readCurrentAndPrevious(this.client, this.secretId, signal);
    const currentKeys = await deriveKeys(parseSessionKeyMaterial(current));
    // A previous version too short to be accepted never sealed anything: it is ignored, not fatal.
    let previousKeys: Record<Purpose, SealKey> | undefined;
    try {
      previousKeys = previous === undefined ? undefined : await deriveKeys(parseSessionKeyMaterial(previous));
    } catch {
      previousKeys = undefined;
    }
    const ring = (purpose: Purpose): KeyRing => ({
      current: currentKeys[purpose],
      ...(previousKeys === undefined ? {} : { previous: previousKeys[purpose] }),
    });
    return { session: ring('session'), login: ring('login'), refresh: ring('refresh'), record: ring('record') };
  }
}

/** The SecretString is the key material itself, or JSON with a `session_key` field; at least 32 characters. */
export function parseSessionKeyMaterial(secretString: string | undefined): string {
  const material = secretStringField(secretString, 'session_key', 'session key secret');
  if (material.length < MIN_MATERIAL_LENGTH) {
    throw new ServerError(`the session key secret must be at least ${MIN_MATERIAL_LENGTH} characters`);
  }
  return material;
}

async function deriveKeys(material: string): Promise<Record<Purpose, SealKey>> {
  const derive = (purpose: Purpose) => sealKey(new Uint8Array(hkdfSync('sha256', material, HKDF_SALT, HKDF_INFO[purpose], 32)));
  const [session, login, refresh, record] = await Promise.all([derive('session'), derive('login'), derive('refresh'), derive('record')]);
  return { session, login, refresh, record };
}
