import { hkdfSync, randomBytes } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CompactEncrypt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { secretsManagerClient } from '../../functions/adapters/aws-clients.ts';
import {
  parseSessionKeyMaterial,
  SESSION_KEYS_TTL_MS,
  SessionKeySource,
  UNKNOWN_KID_RELOAD_MS,
} from '../../functions/adapters/session-keys.ts';
import { Deadline } from '../../functions/core/deadline.ts';
import { ServerError, TemporarilyUnavailableError } from '../../functions/core/errors.ts';
import { sealKey } from '../../functions/core/sealed-cookie.ts';
import { startFakeSecretsManager, type FakeSecretsManager } from '../../local/fake-secrets-manager.ts';

/**
 * The session key ring (adapters/session-keys.ts) through the real @aws-sdk/client-secrets-manager
 * against the wire-level Secrets Manager stand-in: AWSCURRENT seals, AWSCURRENT and AWSPREVIOUS
 * open, keys derived with HKDF-SHA256 (RFC 5869) per purpose, loaded once per container for 5
 * minutes, and reloaded at most once per 30 s for a kid the ring does not know (a rotation since).
 */
const MATERIAL_0 = 'first-session-key-material-0123456789';
const MATERIAL_1 = 'second-session-key-material-abcdefghij';
const MATERIAL_2 = 'third-session-key-material-ABCDEFGHIJKL';
const NOW_S = 1_800_000_000;
const payload = { v: 1, exp: NOW_S + 600, sub: 'user-1' };

let sm: FakeSecretsManager;
let secretName: string;
let secretCount = 0;
/** VersionStage of every GetSecretValue the fake received. */
let stages: string[];
let clockMs: number;
const clock = () => clockMs;
const signal = () => AbortSignal.timeout(2000);
const client = () => secretsManagerClient({ timeoutMs: 1000, maxAttempts: 1 });
/** A fresh container's source. */
const container = () => new SessionKeySource(client(), secretName, clock);

beforeAll(async () => {
  sm = await startFakeSecretsManager();
  Object.assign(process.env, {
    AWS_REGION: 'eu-central-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
});

afterAll(async () => {
  await sm.close();
});

beforeEach(() => {
  secretCount += 1;
  secretName = `par/session-keys-${secretCount}`;
  sm.createSecret(secretName, MATERIAL_0);
  stages = [];
  sm.setFault((operation, input) => {
    if (operation === 'GetSecretValue') stages.push(String(input.VersionStage));
    return undefined;
  });
  clockMs = NOW_S * 1000;
});

/** A well-formed session cookie sealed with a key no ring holds, under its own kid. */
async function strangerCookie(): Promise<string> {
  const stranger = await sealKey(randomBytes(32));
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: stranger.kid, typ: 'bff-session' })
    .encrypt(stranger.key);
}

/** PutSecretValue through the real SDK: the fake moves AWSCURRENT to AWSPREVIOUS, as a rotation does. */
async function rotate(material: string): Promise<void> {
  await client().send(new PutSecretValueCommand({ SecretId: secretName, SecretString: material }));
}

describe('the session key ring from Secrets Manager', () => {
  it('loads AWSCURRENT and AWSPREVIOUS once; no AWSPREVIOUS (ResourceNotFoundException) is no previous key', async () => {
    const source = container();
    const keys = await source.keys(signal);
    expect(keys.session.previous).toBeUndefined();
    expect(keys.login.previous).toBeUndefined();
    expect(stages.sort()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    expect((await source.open(await source.seal(payload, 'session', signal), 'session', NOW_S, signal)).payload).toEqual(payload);
  });

  it('derives the keys with HKDF-SHA256, info per purpose as documented, the same in every container', async () => {
    const expectedKid = async (info: string) =>
      (await sealKey(new Uint8Array(hkdfSync('sha256', MATERIAL_0, 'par-proxy bff v1', info, 32)))).kid;
    const [a, b] = await Promise.all([container().keys(signal), container().keys(signal)]);
    expect(a.session.current.kid).toBe(await expectedKid('par-proxy session cookie v1'));
    expect(a.login.current.kid).toBe(await expectedKid('par-proxy login cookie v1'));
    expect(a.session.current.kid).not.toBe(a.login.current.kid);
    expect(b.session.current.kid).toBe(a.session.current.kid);
    // Another container opens what this one sealed: the same material gives the same key.
    const sealed = await container().seal(payload, 'session', signal);
    expect((await container().open(sealed, 'session', NOW_S, signal)).payload).toEqual(payload);
  });

  it('never opens a login cookie as a session or the other way round (distinct HKDF info)', async () => {
    const source = container();
    const login = await source.seal(payload, 'login', signal);
    expect((await source.open(login, 'session', NOW_S, signal)).payload).toBeUndefined();
    // Even relabelled as a session, the login key does not open under the session key.
    const keys = await source.keys(signal);
    const relabelled = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: keys.session.current.kid, typ: 'bff-session' })
      .encrypt(keys.login.current.key);
    expect(await source.open(relabelled, 'session', NOW_S, signal)).toEqual({ reason: 'undecryptable' });
  });

  it('caches for 5 minutes: one GetSecretValue per stage, shared by concurrent callers', async () => {
    const source = container();
    await Promise.all(Array.from({ length: 20 }, () => source.keys(signal)));
    for (let i = 0; i < 50; i += 1) await source.keys(signal);
    expect(stages).toHaveLength(2);
    clockMs += SESSION_KEYS_TTL_MS - 1;
    await source.keys(signal);
    expect(stages).toHaveLength(2);
    clockMs += 1;
    await source.keys(signal);
    expect(stages).toHaveLength(4);
  });

  it('after a rotation: the new container seals with the new key and opens the old cookies (AWSPREVIOUS)', async () => {
    const before = container();
    const old = await before.seal(payload, 'session', signal);
    await rotate(MATERIAL_1);
    const after = container();
    expect((await after.open(old, 'session', NOW_S, signal)).payload).toEqual(payload);
    const keys = await after.keys(signal);
    expect(keys.session.previous?.kid).toBe((await before.keys(signal)).session.current.kid);
    const fresh = await after.seal(payload, 'session', signal);
    // The old container, whose cache predates the rotation, reloads once for the new kid and opens it.
    const calls = stages.length;
    expect((await before.open(fresh, 'session', NOW_S, signal)).payload).toEqual(payload);
    expect(stages.length - calls).toBe(2);
  });

  it('a cookie sealed before two rotations is absent', async () => {
    const old = await container().seal(payload, 'login', signal);
    await rotate(MATERIAL_1);
    await rotate(MATERIAL_2);
    expect(await container().open(old, 'login', NOW_S, signal)).toEqual({ reason: 'unknown_kid' });
  });

  it('reloads for an unknown kid at most once per 30 s, however many arrive', async () => {
    const source = container();
    await source.keys(signal);
    const cookies = await Promise.all(Array.from({ length: 20 }, strangerCookie));
    const results = await Promise.all(cookies.map((cookie) => source.open(cookie, 'session', NOW_S, signal)));
    expect(results.every((result) => result.reason === 'unknown_kid')).toBe(true);
    expect(stages).toHaveLength(4); // the first load, and one reload
    clockMs += UNKNOWN_KID_RELOAD_MS - 1;
    await source.open(cookies[0]!, 'session', NOW_S, signal);
    expect(stages).toHaveLength(4);
    clockMs += 1;
    await source.open(cookies[0]!, 'session', NOW_S, signal);
    expect(stages).toHaveLength(6);
  });

  it('shares one reload between concurrent requests that carry the new kid', async () => {
    const before = container();
    await before.keys(signal);
    await rotate(MATERIAL_1);
    const fresh = await container().seal(payload, 'session', signal);
    const calls = stages.length;
    const results = await Promise.all(Array.from({ length: 10 }, () => before.open(fresh, 'session', NOW_S, signal)));
    expect(results.map((result) => result.payload)).toEqual(Array(10).fill(payload));
    expect(stages.length - calls).toBe(2);
  });

  it('keeps the cached ring when a reload fails: only the request that asked for it fails', async () => {
    const source = container();
    const good = await source.seal(payload, 'session', signal);
    sm.setFault((operation) => (operation === 'GetSecretValue' ? { kind: 'error', type: 'ThrottlingException', status: 400 } : undefined));
    await expect(source.open(await strangerCookie(), 'session', NOW_S, signal)).rejects.toBeInstanceOf(TemporarilyUnavailableError);
    expect((await source.open(good, 'session', NOW_S, signal)).payload).toEqual(payload);
  });

  it('does not reload for a cookie that fails for any other reason', async () => {
    const source = container();
    const sealed = await source.seal(payload, 'session', signal);
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BA' : 'AA'}`;
    for (const value of [tampered, 'garbage', await source.seal(payload, 'login', signal)]) {
      expect((await source.open(value, 'session', NOW_S, signal)).payload).toBeUndefined();
    }
    expect((await source.open(sealed, 'session', payload.exp, signal)).reason).toBe('expired');
    expect(stages).toHaveLength(2);
  });

  it('reads JSON {"session_key": ...} too', async () => {
    sm.rotate(secretName, JSON.stringify({ session_key: MATERIAL_1 }));
    const fromJson = await container().keys(signal);
    sm.createSecret(`${secretName}-plain`, MATERIAL_1);
    const plain = await new SessionKeySource(client(), `${secretName}-plain`, clock).keys(signal);
    expect(fromJson.session.current.kid).toBe(plain.session.current.kid);
    expect(fromJson.session.previous).toBeDefined();
  });

  it('refuses material shorter than 32 characters with a server error that does not quote it, and does not cache it', async () => {
    const short = 'only-31-characters-of-material!';
    expect(short).toHaveLength(31);
    sm.rotate(secretName, short);
    const source = container();
    const error = await source.keys(signal).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).description).toMatch(/at least 32 characters/);
    expect(JSON.stringify(error) + String(error)).not.toContain(short);
    sm.rotate(secretName, MATERIAL_2);
    expect((await source.keys(signal)).session.current).toBeDefined();
  });

  it('ignores an AWSPREVIOUS too short to have ever sealed anything', async () => {
    sm.createSecret(`${secretName}-x`, 'short');
    sm.rotate(`${secretName}-x`, MATERIAL_1);
    const keys = await new SessionKeySource(client(), `${secretName}-x`, clock).keys(signal);
    expect(keys.session.previous).toBeUndefined();
  });

  it('answers 503 while Secrets Manager throttles, and keeps no failure', async () => {
    sm.setFault((operation) => (operation === 'GetSecretValue' ? { kind: 'error', type: 'ThrottlingException', status: 400 } : undefined));
    const source = container();
    await expect(source.keys(signal)).rejects.toBeInstanceOf(TemporarilyUnavailableError);
    sm.setFault(undefined);
    expect((await source.keys(signal)).session.current).toBeDefined();
  });

  it('fails the load when AWSPREVIOUS fails otherwise (AccessDenied is not "no previous key")', async () => {
    sm.setFault((operation, input) =>
      operation === 'GetSecretValue' && input.VersionStage === 'AWSPREVIOUS' ? { kind: 'error', type: 'AccessDeniedException', status: 400 } : undefined,
    );
    await expect(container().keys(signal)).rejects.toBeInstanceOf(ServerError);
  });

  it('prefetches at INIT, so that the first request calls nothing', async () => {
    const source = container();
    const deadline = Deadline.start(clock, 2500, 1000);
    await source.prefetch(deadline);
    deadline.dispose();
    expect(stages).toHaveLength(2);
    await source.keys(signal);
    expect(stages).toHaveLength(2);
  });
});

describe('parseSessionKeyMaterial', () => {
  it('is the SecretString, trimmed, or its session_key field', () => {
    expect(parseSessionKeyMaterial(` ${MATERIAL_0}\n`)).toBe(MATERIAL_0);
    expect(parseSessionKeyMaterial(JSON.stringify({ session_key: MATERIAL_0, other: 1 }))).toBe(MATERIAL_0);
  });

  it.each([undefined, '', 'x'.repeat(31), '{"sessionKey":"x"}', '{"session_key":42}', '{not json', `{"session_key":"${'y'.repeat(31)}"}`])(
    'refuses %j with a server error',
    (value) => {
      expect(() => parseSessionKeyMaterial(value)).toThrow(ServerError);
    },
  );
});
