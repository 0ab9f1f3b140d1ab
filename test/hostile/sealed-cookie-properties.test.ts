import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { open, seal, sealKey, type KeyRing, type Purpose, type SealKey } from '../../functions/core/sealed-cookie.ts';
import { fcOptions, PROPERTY_TIMEOUT_MS } from '../helpers/hostile.ts';

/**
 * The cookie codec (core/sealed-cookie.ts) under arbitrary payloads and arbitrary damage,
 * property-based (fast-check, fixed seed: see test/helpers/hostile.ts to reproduce or explore).
 * RFC 7516 5.2: a JWE whose tag does not verify MUST be rejected; here any change at all to a sealed
 * value, its key or its purpose makes it absent, and only the ring's current and previous keys open.
 */
const NOW = 1_800_000_000;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

let keys: SealKey[];
beforeAll(async () => {
  keys = await Promise.all(Array.from({ length: 4 }, () => sealKey(randomBytes(32))));
});
const ring = (current: SealKey, previous?: SealKey): KeyRing => ({ current, ...(previous === undefined ? {} : { previous }) });

/** A JSON object payload, as a session or login payload would be, with an exp after NOW. */
const payload = () =>
  fc
    .tuple(fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }), fc.integer({ min: 1, max: 10 ** 8 }))
    .map(([claims, ttl]) => ({ ...claims, exp: NOW + ttl }));
const purpose = () => fc.constantFrom<Purpose>('session', 'login');
/** What JSON makes of a value (-0 becomes 0, for one). */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('the sealed cookie codec', () => {
  it(
    'opens what it sealed: the same JSON, for either purpose',
    async () => {
      await fc.assert(
        fc.asyncProperty(payload(), purpose(), async (p, use) => {
          const keyRing = ring(keys[0]!);
          expect((await open(await seal(p, use, keyRing), use, keyRing, NOW)).payload).toEqual(viaJson(p));
        }),
        fcOptions(200),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'any single-character change makes it absent',
    async () => {
      await fc.assert(
        fc.asyncProperty(payload(), purpose(), fc.nat(), fc.boolean(), fc.constantFrom(...B64URL, '.', '=', '+', '/', ' ', '%'), async (p, use, at, partEnd, replacement) => {
          const keyRing = ring(keys[0]!);
          const sealed = await seal(p, use, keyRing);
          // Half the time the last character of a part: its unused low bits must not be free either.
          const ends = [...sealed.matchAll(/[^.](?=\.|$)/g)].map((m) => m.index);
          const index = partEnd ? ends[at % ends.length]! : at % sealed.length;
          fc.pre(sealed[index] !== replacement);
          const changed = `${sealed.slice(0, index)}${replacement}${sealed.slice(index + 1)}`;
          expect((await open(changed, use, keyRing, NOW)).payload).toBeUndefined();
        }),
        fcOptions(400),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'any truncation or extension makes it absent',
    async () => {
      await fc.assert(
        fc.asyncProperty(payload(), purpose(), fc.nat(), fc.string({ unit: fc.constantFrom(...B64URL, '.'), minLength: 1, maxLength: 8 }), async (p, use, at, extra) => {
          const keyRing = ring(keys[0]!);
          const sealed = await seal(p, use, keyRing);
          const cut = at % sealed.length;
          expect((await open(sealed.slice(0, cut), use, keyRing, NOW)).payload).toBeUndefined();
          expect((await open(sealed.slice(cut), use, keyRing, NOW)).payload).toBeUndefined();
          expect((await open(`${sealed}${extra}`, use, keyRing, NOW)).payload).toBeUndefined();
        }),
        fcOptions(200),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'another key, or the other purpose, makes it absent',
    async () => {
      await fc.assert(
        fc.asyncProperty(payload(), purpose(), async (p, use) => {
          const sealed = await seal(p, use, ring(keys[0]!));
          // Another key under the same kid: the tag decides, not the name.
          expect((await open(sealed, use, ring({ kid: keys[0]!.kid, key: keys[1]!.key }), NOW)).payload).toBeUndefined();
          expect((await open(sealed, use, ring(keys[1]!, keys[2]!), NOW)).payload).toBeUndefined();
          expect((await open(sealed, use === 'session' ? 'login' : 'session', ring(keys[0]!), NOW)).payload).toBeUndefined();
        }),
        fcOptions(200),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'the previous key opens after one rotation; after the next, it is absent',
    async () => {
      await fc.assert(
        fc.asyncProperty(payload(), purpose(), async (p, use) => {
          const sealed = await seal(p, use, ring(keys[0]!));
          expect((await open(sealed, use, ring(keys[1]!, keys[0]!), NOW)).payload).toEqual(viaJson(p));
          expect((await open(sealed, use, ring(keys[2]!, keys[1]!), NOW))).toEqual({ reason: 'unknown_kid' });
        }),
        fcOptions(200),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
