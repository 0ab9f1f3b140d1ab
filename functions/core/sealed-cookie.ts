import { CompactEncrypt, compactDecrypt, type DecryptOptions } from 'jose';

/**
 * Sealed cookie values: a JSON payload encrypted and authenticated as a JWE in compact serialization
 * (RFC 7516 3.1, 7.1) with direct key agreement and AES-256-GCM (RFC 7518 4.5, 5.3), the protected
 * header exactly `{alg: "dir", enc: "A256GCM", kid, typ}`. `kid` names the key of a small ring
 * (current seals; current and previous open), so that a rotated secret does not log everyone out;
 * `typ` names the purpose, and each purpose has its own key (adapters/session-keys.ts), so a login
 * cookie never opens as a session or the other way round. The header is the GCM additional data:
 * changing any byte of it fails the tag.
 *
 * A value that does not open is absent, with a reason for the log and metrics, never an exception:
 * it came from a browser, so it is the caller's input, and a broken cookie must not become a 500.
 *
 * Bundle cost (esbuild with infra/bundling.ts ESBUILD_OPTIONS, gzip -9, over an empty entry): this
 * module alone 9.3 KiB, of which jose's compactDecrypt + CompactEncrypt are 8.6 KiB (it bundles every
 * JWE algorithm: the key management is chosen from the header at run time); the same format
 * hand-written on node:crypto is 0.5 KiB. jose's narrower entry points (jose/jwe/compact/*) change
 * nothing: esbuild already tree-shakes the root import. In the bff bundle, which verifies ID tokens
 * with jose anyway (jwtVerify + createRemoteJWKSet: 6.7 KiB), the JWE adds 6.3 KiB against 0.4 KiB.
 * Kept: a reviewed JOSE implementation for about 5 % of a function bundle. The format is plain JWE,
 * so a hand-written codec could replace it later without changing a single cookie.
 */
/** `refresh`: relay mode's refresh tokens bound to a DPoP key (core/refresh-binding.ts); `record`: a server-side session (SESSION_STORE=dynamodb). */
export type Purpose = 'session' | 'login' | 'refresh' | 'record';

/** An AES-256-GCM key (non-extractable) and its name in the JWE header. */
export interface SealKey {
  readonly kid: string;
  readonly key: CryptoKey;
}

/** The keys of one purpose: `current` seals and opens, `previous` (the secret's AWSPREVIOUS) only opens. */
export interface KeyRing {
  readonly current: SealKey;
  readonly previous?: SealKey;
}

/** Every sealed payload is a JSON object that expires: `exp` in epoch seconds. */
export interface SealablePayload {
  readonly exp: number;
}

/** What opens: a JSON object with an integer `exp`; its shape is the caller's to check (core/session.ts). */
export type OpenedPayload = Readonly<Record<string, unknown>> & SealablePayload;

export type OpenFailure =
  /** Longer than MAX_SEALED_LENGTH: refused before any parsing or decryption. */
  | 'oversize'
  /** Not five base64url parts with an empty encrypted key, a 96-bit IV, a 128-bit tag and our exact header. */
  | 'malformed'
  /** A kid the ring does not hold: sealed by a key rotated in since (reload once) or long gone. */
  | 'unknown_kid'
  /** Sealed for the other purpose. */
  | 'wrong_purpose'
  /** The tag does not verify: tampered with, truncated, or another key under the same kid. */
  | 'undecryptable'
  /** Decrypts, but not to a JSON object with an integer `exp`. */
  | 'invalid_payload'
  | 'expired';

/** `(await open(...)).payload` is the payload or undefined; `reason` says why it is absent. */
export type OpenResult =
  | { readonly payload: OpenedPayload; readonly reason?: undefined }
  | { readonly payload?: undefined; readonly reason: OpenFailure };

/**
 * The longest value `open` looks at: a session of two 3800-byte chunks fits (core/session.ts), and a
 * forged value of megabytes costs nothing but this comparison.
 */
export const MAX_SEALED_LENGTH = 8192;
/** A server-side session record (SESSION_STORE=dynamodb) is not a cookie: tokens of any size, below DynamoDB's 400 KB item. */
export const MAX_SEALED_RECORD_LENGTH = 256 * 1024;

const TYP: Readonly<Record<Purpose, string>> = { session: 'bff-session', login: 'bff-login', refresh: 'par-refresh-token', record: 'bff-record' };
const HEADER_KEYS = 'alg,enc,kid,typ';
/** Header, empty encrypted key, 96-bit IV (16 chars), ciphertext, 128-bit tag (22 chars). */
const COMPACT = /^([A-Za-z0-9_-]{1,512})\.\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/;
const DECRYPT_OPTIONS: DecryptOptions = {
  keyManagementAlgorithms: ['dir'],
  contentEncryptionAlgorithms: ['A256GCM'],
  maxDecompressedLength: 0,
};
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A ring key from 32 bytes of key material; its kid is the first 8 base64url characters of SHA-256(key). */
export async function sealKey(raw: Uint8Array): Promise<SealKey> {
  if (raw.length !== 32) throw new Error('an A256GCM key is 32 bytes');
  const bytes = new Uint8Array(raw);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const key = await crypto.subtle.importKey('raw', bytes, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { kid: Buffer.from(digest).toString('base64url').slice(0, 8), key };
}

/** Seals `payload` for `purpose` with the ring's current key. */
export async function seal<T extends SealablePayload>(payload: T, purpose: Purpose, ring: KeyRing): Promise<string> {
  if (!Number.isSafeInteger(payload.exp)) throw new Error('a sealed payload needs an integer exp');
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: ring.current.kid, typ: TYP[purpose] })
    .encrypt(ring.current.key);
}

/** Opens a value sealed for `purpose` with a key of `ring`, unexpired at `now` (epoch seconds). */
export async function open(value: string, purpose: Purpose, ring: KeyRing, now: number): Promise<OpenResult> {
  if (typeof value !== 'string') return { reason: 'malformed' };
  if (value.length > (purpose === 'record' ? MAX_SEALED_RECORD_LENGTH : MAX_SEALED_LENGTH)) return { reason: 'oversize' };
  const header = protectedHeader(value);
  if (header === undefined) return { reason: 'malformed' };
  if (header.typ !== TYP[purpose]) return { reason: 'wrong_purpose' };
  const key = [ring.current, ring.previous].find((candidate) => candidate?.kid === header.kid)?.key;
  if (key === undefined) return { reason: 'unknown_kid' };

  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(value, key, DECRYPT_OPTIONS));
  } catch {
    return { reason: 'undecryptable' };
  }
  const payload = parsePayload(plaintext);
  if (payload === undefined) return { reason: 'invalid_payload' };
  if (payload.exp <= now) return { reason: 'expired' };
  return { payload };
}

/**
 * Our exact header, or undefined: the header is checked before any key is looked up. Every part must
 * be canonical base64url too (a last character that differs only in unused bits decodes the same), so
 * that a sealed value has one spelling and any change to it makes it absent.
 */
function protectedHeader(value: string): { readonly kid: string; readonly typ: string } | undefined {
  const match = COMPACT.exec(value);
  if (match === null) return undefined;
  if (value.split('.').some((part) => Buffer.from(part, 'base64url').toString('base64url') !== part)) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(Buffer.from(match[1]!, 'base64url')));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null || Object.keys(header).sort().join() !== HEADER_KEYS) return undefined;
  const { alg, enc, kid, typ } = header as Record<string, unknown>;
  if (alg !== 'dir' || enc !== 'A256GCM' || typeof kid !== 'string' || typeof typ !== 'string') return undefined;
  return { kid, typ };
}

function parsePayload(plaintext: Uint8Array): OpenedPayload | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(plaintext));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { exp } = parsed as Record<string, unknown>;
  return Number.isSafeInteger(exp) ? (parsed as OpenedPayload) : undefined;
}
