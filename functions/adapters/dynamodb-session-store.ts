import { createHash } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Deadline } from '../core/deadline.ts';
import type { OpenResult, SealablePayload } from '../core/sealed-cookie.ts';
import { parseSessionPayload, type SessionPayload } from '../core/session.ts';
import { SESSION_TABLE, type SessionRecord, type SessionSelector, type SessionStore } from '../core/session-store.ts';
import { fromAwsError } from './aws-errors.ts';

/**
 * The session store on a DynamoDB table (SESSION_TABLE_NAME), through @aws-sdk/client-dynamodb alone
 * (the document client would add bytes for a handful of attributes). An item per session:
 *
 *   pk    `s#` + base64url(SHA-256(session id)): the table never holds a cookie's value
 *   rec   the session, sealed with the session keys' `record` key (JWE, core/sealed-cookie.ts),
 *         bound to its pk: a record copied to another item does not open there
 *   ver   version, +1 per refresh; the conditional writes compare it
 *   seen  last activity (epoch s), for the idle timeout
 *   ttl   the absolute end (epoch s): DynamoDB's TTL deletes what nobody logged out
 *   sub, sid  the ID token's, in clear: the by-sub and by-sid indexes (back-channel logout, end-sessions)
 *   lo, lu    the refresh lease: its owner and until when (epoch ms)
 *
 * A logout token's jti is an item `j#` + hash, with a ttl. Reads are strongly consistent: a caller
 * waiting for another's refresh must see it as soon as it is written.
 */
export interface RecordSealer {
  seal<T extends SealablePayload>(payload: T, purpose: 'record', signal: () => AbortSignal): Promise<string>;
  open(value: string, purpose: 'record', now: number, signal: () => AbortSignal): Promise<OpenResult>;
}

/** How many pages of an index one deleteMatching reads (a user has a few sessions, not thousands). */
const MAX_INDEX_PAGES = 10;
const PK = SESSION_TABLE.partitionKey;

export const sessionKey = (id: string): string => `s#${createHash('sha256').update(id).digest('base64url')}`;
const oneTimeKey = (key: string): string => `j#${createHash('sha256').update(key).digest('base64url')}`;

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
const num = (value: AttributeValue | undefined): number | undefined => (value?.N === undefined ? undefined : Number(value.N));

export class DynamoDbSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly sealer: RecordSealer,
    private readonly clock: () => number = Date.now,
  ) {}

  async read(id: string, deadline: Deadline): Promise<SessionRecord | undefined> {
    const pk = sessionKey(id);
    const { Item: item } = await this.call(deadline, (abortSignal) =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { [PK]: s(pk) }, ConsistentRead: true }), { abortSignal }),
    );
    const version = num(item?.ver);
    const seen = num(item?.seen);
    const sealed = item?.rec?.S;
    if (item === undefined || version === undefined || seen === undefined || sealed === undefined) return undefined;
    const opened = await deadline.cached('secrets_manager', (signal) => this.sealer.open(sealed, 'record', Math.floor(this.clock() / 1000), signal));
    // Tampered with, sealed by keys two rotations old, or moved from another item: no session.
    if (opened.payload?.pk !== pk) return undefined;
    const session = parseSessionPayload(opened.payload.session);
    if (session === undefined) return undefined;
    const owner = item.lo?.S;
    const until = num(item.lu);
    return { session, version, seen, ...(owner === undefined || until === undefined ? {} : { lease: { owner, until } }) };
  }

  async create(id: string, session: SessionPayload, now: number, deadline: Deadline): Promise<void> {
    const item = await this.item(sessionKey(id), session, 1, now, deadline);
    await this.call(deadline, (abortSignal) =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }), { abortSignal }),
    );
  }

  async touch(id: string, now: number, deadline: Deadline): Promise<void> {
    await this.conditional(deadline, new UpdateItemCommand({
      TableName: this.tableName,
      Key: { [PK]: s(sessionKey(id)) },
      UpdateExpression: 'SET seen = :now',
      ConditionExpression: 'attribute_exists(pk) AND seen < :now',
      ExpressionAttributeValues: { ':now': n(now) },
    }));
  }

  lease(id: string, version: number, owner: string, until: number, nowMs: number, deadline: Deadline): Promise<boolean> {
    return this.conditional(deadline, new UpdateItemCommand({
      TableName: this.tableName,
      Key: { [PK]: s(sessionKey(id)) },
      UpdateExpression: 'SET lo = :owner, lu = :until',
      ConditionExpression: 'ver = :ver AND (attribute_not_exists(lu) OR lu < :now)',
      ExpressionAttributeValues: { ':owner': s(owner), ':until': n(until), ':ver': n(version), ':now': n(nowMs) },
    }));
  }

  async replace(id: string, session: SessionPayload, version: number, owner: string, now: number, deadline: Deadline): Promise<boolean> {
    const item = await this.item(sessionKey(id), session, version + 1, now, deadline);
    return this.conditional(deadline, new PutItemCommand({
      TableName: this.tableName,
      Item: item,
      ConditionExpression: 'ver = :ver AND lo = :owner',
      ExpressionAttributeValues: { ':ver': n(version), ':owner': s(owner) },
    }));
  }

  async release(id: string, owner: string, deadline: Deadline): Promise<void> {
    await this.conditional(deadline, new UpdateItemCommand({
      TableName: this.tableName,
      Key: { [PK]: s(sessionKey(id)) },
      UpdateExpression: 'REMOVE lo, lu',
      ConditionExpression: 'lo = :owner',
      ExpressionAttributeValues: { ':owner': s(owner) },
    }));
  }

  async delete(id: string, deadline: Deadline): Promise<void> {
    await this.deleteKey(sessionKey(id), deadline);
  }

  async deleteMatching(selector: SessionSelector, deadline: Deadline): Promise<number> {
    const bySid = selector.sid !== undefined;
    const keys: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    for (let page = 0; page < MAX_INDEX_PAGES; page += 1) {
      const answer = await this.call(deadline, (abortSignal) =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: bySid ? SESSION_TABLE.sidIndex : SESSION_TABLE.subIndex,
            KeyConditionExpression: bySid ? 'sid = :value' : '#sub = :value',
            ...(bySid ? {} : { ExpressionAttributeNames: { '#sub': 'sub' } }),
            ExpressionAttributeValues: { ':value': s((bySid ? selector.sid : selector.sub)!) },
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
          { abortSignal },
        ),
      );
      for (const item of answer.Items ?? []) {
        // Back-Channel Logout 1.0 2.6: with both, the sid's session only if it is that sub's.
        if (bySid && selector.sub !== undefined && item.sub?.S !== selector.sub) continue;
        if (item[PK]?.S !== undefined) keys.push(item[PK].S);
      }
      start = answer.LastEvaluatedKey;
      if (start === undefined) break;
    }
    await Promise.all(keys.map((key) => this.deleteKey(key, deadline)));
    return keys.length;
  }

  firstUse(key: string, expires: number, deadline: Deadline): Promise<boolean> {
    return this.conditional(deadline, new PutItemCommand({
      TableName: this.tableName,
      Item: { [PK]: s(oneTimeKey(key)), [SESSION_TABLE.ttlAttribute]: n(expires) },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
  }

  /**
   * During INIT: one GetItem of a key no session has, so that the first request does not pay the
   * client's first call (credentials, endpoint, connection: about 10 ms measured, README).
   */
  async prefetch(deadline: Deadline): Promise<void> {
    await this.call(deadline, (abortSignal) =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { [PK]: s('s#prefetch') }, ProjectionExpression: 'pk' }), { abortSignal }),
    );
  }

  async forget(key: string, deadline: Deadline): Promise<void> {
    await this.deleteKey(oneTimeKey(key), deadline);
  }

  private async item(pk: string, session: SessionPayload, version: number, now: number, deadline: Deadline): Promise<Record<string, AttributeValue>> {
    const rec = await deadline.cached('secrets_manager', (signal) => this.sealer.seal({ v: 1, pk, exp: session.exp, session }, 'record', signal));
    const { sub, sid } = session.claims;
    return {
      [PK]: s(pk),
      rec: s(rec),
      ver: n(version),
      seen: n(now),
      [SESSION_TABLE.ttlAttribute]: n(session.exp),
      ...(typeof sub === 'string' && sub !== '' ? { [SESSION_TABLE.subAttribute]: s(sub) } : {}),
      ...(typeof sid === 'string' && sid !== '' ? { [SESSION_TABLE.sidAttribute]: s(sid) } : {}),
    };
  }

  private async deleteKey(pk: string, deadline: Deadline): Promise<void> {
    await this.call(deadline, (abortSignal) => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { [PK]: s(pk) } }), { abortSignal }));
  }

  /** A conditional write: whether its condition held. */
  private async conditional(deadline: Deadline, command: PutItemCommand | UpdateItemCommand): Promise<boolean> {
    try {
      await this.call(deadline, (abortSignal) => this.client.send(command as PutItemCommand, { abortSignal }));
      return true;
    } catch (error) {
      if ((error as { cause?: { name?: string } }).cause?.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** One call, timed, bounded by the request's deadline; an SDK failure becomes the answer it deserves (503, 504, 500). */
  private async call<T>(deadline: Deadline, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = deadline.signal();
    try {
      return await deadline.timed('dynamodb', () => send(signal));
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') throw new ConditionFailed(error);
      throw fromAwsError('dynamodb', error, signal);
    }
  }
}

/** Internal: a conditional write whose condition did not hold (not a failure of the table). */
class ConditionFailed extends Error {
  constructor(cause: unknown) {
    super('condition failed', { cause });
  }
}
