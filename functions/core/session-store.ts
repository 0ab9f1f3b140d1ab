import type { Deadline } from './deadline.ts';
import type { SessionPayload } from './session.ts';

/**
 * Server-side sessions (SESSION_STORE=dynamodb): the cookie carries only a random session id, and
 * the session itself (tokens, claims, times) is a record in a store, sealed before it is written.
 * What the bff needs of such a store, as types only; functions/adapters/dynamodb-session-store.ts is
 * the implementation, functions/bff/server-sessions.ts the logic on top (timeouts, the refresh lease).
 *
 * Times: epoch seconds, except the lease (epoch milliseconds, as it is short).
 */
export interface SessionRecord {
  readonly session: SessionPayload;
  /** Increases by one with every replacement of the session: the conditional writes compare it. */
  readonly version: number;
  /** Last activity, epoch seconds: the idle timeout counts from here. */
  readonly seen: number;
  /** A refresh in progress: who holds it and until when (epoch ms). */
  readonly lease?: { readonly owner: string; readonly until: number };
}

/** Whose sessions to end: OpenID Connect Back-Channel Logout 1.0 2.4 names a `sid`, a `sub`, or both. */
export type SessionSelector = { readonly sub: string; readonly sid?: string } | { readonly sub?: string; readonly sid: string };

export interface SessionStore {
  /** The record of a session id, or undefined (never existed, ended, expired). */
  read(id: string, deadline: Deadline): Promise<SessionRecord | undefined>;
  /** A new record, version 1. */
  create(id: string, session: SessionPayload, now: number, deadline: Deadline): Promise<void>;
  /** Moves `seen` to `now` (the idle timeout); nothing if the record is gone. */
  touch(id: string, now: number, deadline: Deadline): Promise<void>;
  /**
   * Takes the refresh lease of `version` for `owner` until `until` (epoch ms), if nobody holds an
   * unexpired one and the version is still `version`: whether it did (a conditional write).
   */
  lease(id: string, version: number, owner: string, until: number, nowMs: number, deadline: Deadline): Promise<boolean>;
  /** Writes the refreshed session as version + 1 and drops the lease, if `owner` still holds it on `version`. */
  replace(id: string, session: SessionPayload, version: number, owner: string, now: number, deadline: Deadline): Promise<boolean>;
  /** Drops `owner`'s lease (a failed refresh), so that the next caller need not wait for it to expire. */
  release(id: string, owner: string, deadline: Deadline): Promise<void>;
  delete(id: string, deadline: Deadline): Promise<void>;
  /** Deletes every session of the selector (the by-sub / by-sid indexes): how many. */
  deleteMatching(selector: SessionSelector, deadline: Deadline): Promise<number>;
  /** Records a one-time value (a logout token's jti) until `expires`: false when it was already recorded. */
  firstUse(key: string, expires: number, deadline: Deadline): Promise<boolean>;
  /** Forgets a one-time value, so that a retry of what failed after firstUse is not taken for a replay. */
  forget(key: string, deadline: Deadline): Promise<void>;
}

/**
 * The table's layout, shared by the adapter, the CDK table (infra/session-table.ts), the local
 * stack and the operator's end-sessions command: one partition key, a TTL attribute, two
 * keys-only indexes.
 */
export const SESSION_TABLE = {
  partitionKey: 'pk',
  ttlAttribute: 'ttl',
  subIndex: 'by-sub',
  subAttribute: 'sub',
  sidIndex: 'by-sid',
  sidAttribute: 'sid',
} as const;
