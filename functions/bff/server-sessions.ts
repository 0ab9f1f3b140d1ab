import { randomBytes, randomUUID } from 'node:crypto';
import type { Deadline } from '../core/deadline.ts';
import { ServerError, TemporarilyUnavailableError } from '../core/errors.ts';
import { clearSessionCookies, readSessionCookie, sessionMaxAge, sessionSetCookies, type RequestCookies, type SessionPayload } from '../core/session.ts';
import type { SessionStore } from '../core/session-store.ts';

/**
 * SESSION_STORE=dynamodb: the session lives in the store and the `__Host-bff-session` cookie holds
 * only its id, 256 random bits (still HttpOnly, Secure, Strict: core/session.ts writes it). On top of
 * the store: the absolute (SESSION_MAX_AGE) and idle (SESSION_IDLE_TIMEOUT) timeouts, judged here on
 * every read, and the refresh lease that makes one caller per rotation use the refresh token while
 * the others wait for its result (BFF notes: refresh-token races end grants under rotation).
 */
export interface ServerSessionOptions {
  readonly store: SessionStore;
  /** Seconds without a request after which a session ends. */
  readonly idleTimeout: number;
  /** Milliseconds since the epoch. */
  readonly clock: () => number;
}

/** A waiter reads the record this often while another caller refreshes... */
export const LEASE_POLL_MS = 50;
/** ...at most this many times (about 2 s at most, and never past the request's deadline): then 503. */
export const MAX_LEASE_POLLS = 40;
const ID = /^[A-Za-z0-9_-]{43}$/;

interface Handle {
  readonly id: string;
  readonly version: number;
}

export class ServerSessions {
  /** Which record each opened session came from: the refresh's conditional write needs its version. */
  private readonly handles = new WeakMap<SessionPayload, Handle>();
  private readonly touchAfter: number;

  constructor(private readonly options: ServerSessionOptions) {
    // Activity is written at most every tenth of the idle timeout (and every 5 minutes at most), so
    // that a warm API call is one read: the idle timeout is enforced to within that much.
    this.touchAfter = Math.max(1, Math.min(300, Math.floor(options.idleTimeout / 10)));
  }

  private now(): number {
    return Math.floor(this.options.clock() / 1000);
  }

  /** The session of the cookie's id, or undefined; an expired or idle one is deleted on the way. */
  async open(cookies: RequestCookies, deadline: Deadline): Promise<SessionPayload | undefined> {
    const id = sessionId(cookies);
    if (id === undefined) return undefined;
    const record = await this.options.store.read(id, deadline);
    if (record === undefined) return undefined;
    const now = this.now();
    if (record.session.exp <= now || record.seen + this.options.idleTimeout <= now) {
      await this.options.store.delete(id, deadline);
      return undefined;
    }
    if (now - record.seen >= this.touchAfter) await this.options.store.touch(id, now, deadline);
    this.handles.set(record.session, { id, version: record.version });
    return record.session;
  }

  /** A new record and the Set-Cookie values of its id; a session the browser still carried is deleted (a new login replaces it). */
  async start(session: SessionPayload, cookies: RequestCookies, deadline: Deadline): Promise<string[]> {
    const id = randomBytes(32).toString('base64url');
    await this.options.store.create(id, session, this.now(), deadline);
    const previous = sessionId(cookies);
    if (previous !== undefined) await this.options.store.delete(previous, deadline);
    return sessionSetCookies(id, sessionMaxAge(session, this.now()), cookies);
  }

  /**
   * Logout: the record is deleted first, so the cookie is dead everywhere at once, and a failing
   * table (503) leaves the browser its cookie to try again with. The ended session, for revocation.
   */
  async end(cookies: RequestCookies, deadline: Deadline): Promise<{ session?: SessionPayload; setCookies: string[] }> {
    const id = sessionId(cookies);
    const record = id === undefined ? undefined : await this.options.store.read(id, deadline);
    if (id !== undefined) await this.options.store.delete(id, deadline);
    return { ...(record === undefined ? {} : { session: record.session }), setCookies: clearSessionCookies(cookies) };
  }

  /**
   * A due refresh, once per version however many callers (and containers) find it due: the caller
   * whose conditional write takes the lease calls `refresh` and writes the result as the next
   * version; the others read the record until that version appears (and use its tokens), the
   * session is gone, or the lease expires (then one of them takes it). Bounded: MAX_LEASE_POLLS reads
   * and the request's deadline, then 503 with the session untouched. `refresh` answers undefined
   * when the authorization server refused the grant: the session is then deleted.
   */
  async refresh(session: SessionPayload, deadline: Deadline, refresh: (session: SessionPayload) => Promise<SessionPayload | undefined>): Promise<SessionPayload | undefined> {
    const { store, clock } = this.options;
    const handle = this.handles.get(session);
    if (handle === undefined) throw new ServerError('a session to refresh that was not opened from the store');
    for (let poll = 0; poll <= MAX_LEASE_POLLS; poll += 1) {
      const owner = randomUUID();
      // The lease outlives this request (its deadline bounds the refresh), never a crashed one by much.
      if (await store.lease(handle.id, handle.version, owner, clock() + deadline.remaining() + 1000, clock(), deadline)) {
        let next: SessionPayload | undefined;
        try {
          next = await refresh(session);
        } catch (error) {
          await store.release(handle.id, owner, deadline).catch(() => undefined);
          throw error;
        }
        if (next === undefined) {
          await store.delete(handle.id, deadline);
          return undefined;
        }
        // Lost only if the lease expired under a refresh that outran its own deadline: these tokens still work for this call.
        await store.replace(handle.id, next, handle.version, owner, this.now(), deadline);
        this.handles.set(next, { id: handle.id, version: handle.version + 1 });
        return next;
      }
      if (poll === MAX_LEASE_POLLS || deadline.remaining() < 2 * LEASE_POLL_MS) break;
      await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS * (0.5 + Math.random())));
      const record = await store.read(handle.id, deadline);
      if (record === undefined) return undefined;
      if (record.version > handle.version) {
        this.handles.set(record.session, { id: handle.id, version: record.version });
        return record.session;
      }
    }
    throw new TemporarilyUnavailableError('another request is refreshing this session; try again', 'dynamodb');
  }
}

/** The id the cookie carries, if it has the shape of one (a cookie-store value or junk is no session). */
function sessionId(cookies: RequestCookies): string | undefined {
  const value = readSessionCookie(cookies);
  return value !== undefined && ID.test(value) ? value : undefined;
}
