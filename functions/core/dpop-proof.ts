import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { DpopNonces } from './dpop-nonces.ts';
import { newJti } from './request-object.ts';

/**
 * DPoP (RFC 9449) for the bff, which holds the key: one P-256 key per login, sealed in the login
 * cookie and then in the session cookie, never anywhere else. Proofs are ES256 JWTs (section 4.2)
 * signed with node:crypto (RFC 7518 3.4: the raw 64-byte R || S, `ieee-p1363`); nothing here touches
 * the network. Not jose's SignJWT: measured, it put the bff bundle 2.2 KiB gzip over its budget and
 * cost about 100 us more per proof (WebCrypto's importKey and sign); tests verify with jose.
 */

/** A P-256 private key as its JWK coordinates (RFC 7518 6.2): 43 base64url characters each. */
export interface DpopKey {
  readonly x: string;
  readonly y: string;
  readonly d: string;
}

export const DPOP_ALG = 'ES256';
export const DPOP_TYP = 'dpop+jwt';

/** A new key for one login (what Duende's BFF does: a key per session). */
export function newDpopKey(): DpopKey {
  const { x, y, d } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return { x: x!, y: y!, d: d! };
}

/** The public JWK, members in RFC 7638 3.2's lexicographic order: also the thumbprint's input. */
const publicJwk = (key: Pick<DpopKey, 'x' | 'y'>) => ({ crv: 'P-256', kty: 'EC', x: key.x, y: key.y });

/** RFC 7638: the base64url SHA-256 thumbprint of the public key, the request object's dpop_jkt (RFC 9449 10). */
export function dpopJkt(key: Pick<DpopKey, 'x' | 'y'>): string {
  return createHash('sha256').update(JSON.stringify(publicJwk(key))).digest('base64url');
}

/** RFC 9449 4.2: ath, the base64url SHA-256 of the access token's ASCII. */
export const accessTokenHash = (accessToken: string): string => createHash('sha256').update(accessToken, 'ascii').digest('base64url');

/** RFC 9449 4.2: htu is the target URI without query and fragment. */
export function htuOf(url: string | URL): string {
  const target = new URL(url);
  target.search = '';
  target.hash = '';
  return target.href;
}

export interface ProofClaims {
  readonly htm: string;
  readonly htu: string | URL;
  /** Epoch seconds. */
  readonly iat: number;
  /** The server's DPoP-Nonce (section 8), when it gave one. */
  readonly nonce?: string;
  /** For a resource: the token the proof goes with (its hash becomes ath, section 7). */
  readonly accessToken?: string;
  readonly jti?: string;
}

/**
 * Imported keys of the sessions this container served last. Importing the JWK for every proof cost
 * about 60 us of CPU and as much again in garbage collection of the native key objects (bench:
 * "bff /api dpop"); the keys are in this memory during each request anyway, and the session key
 * material that opens every cookie is held for minutes.
 */
const IMPORTED_KEYS_KEPT = 64;
const imported = new Map<string, KeyObject>();

function privateKeyOf(key: DpopKey): KeyObject {
  let keyObject = imported.get(key.d);
  if (keyObject === undefined) {
    keyObject = createPrivateKey({ key: { ...publicJwk(key), d: key.d }, format: 'jwk' });
    if (imported.size >= IMPORTED_KEYS_KEPT) imported.delete(imported.keys().next().value!);
  } else {
    imported.delete(key.d);
  }
  imported.set(key.d, keyObject);
  return keyObject;
}

const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** RFC 9449 4.2: a proof JWT, header {typ: dpop+jwt, alg: ES256, jwk}, claims jti, htm, htu, iat (+ nonce, ath). */
export function dpopProof(key: DpopKey, claims: ProofClaims): string {
  const privateKey = privateKeyOf(key);
  const input = `${part({ typ: DPOP_TYP, alg: DPOP_ALG, jwk: publicJwk(key) })}.${part({
    jti: claims.jti ?? newJti(),
    htm: claims.htm,
    htu: htuOf(claims.htu),
    iat: claims.iat,
    ...(claims.nonce === undefined ? {} : { nonce: claims.nonce }),
    ...(claims.accessToken === undefined ? {} : { ath: accessTokenHash(claims.accessToken) }),
  })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** What a request needs to prove possession of a session's key: the key, the container's nonces, the clock. */
export interface DpopProver {
  /** A fresh proof for one request (a new jti each time), with the nonce last seen from `url`'s origin. */
  proof(htm: string, url: string | URL, accessToken?: string): string;
  readonly nonces: DpopNonces;
}

export function dpopProver(key: DpopKey, nonces: DpopNonces, clock: () => number): DpopProver {
  return {
    nonces,
    proof: (htm, url, accessToken) => {
      const nonce = nonces.get(url);
      return dpopProof(key, {
        htm,
        htu: url,
        iat: Math.floor(clock() / 1000),
        ...(nonce === undefined ? {} : { nonce }),
        ...(accessToken === undefined ? {} : { accessToken }),
      });
    },
  };
}
