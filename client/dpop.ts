/**
 * DPoP (RFC 9449) for the relay SPA, WebCrypto only: one P-256 key per origin, made with
 * `extractable: false` and kept in IndexedDB, so that script can sign with it while the page is open
 * but never read it; proofs for the token endpoint (and, with `ath`, for resource servers); and the
 * last nonce each server named (section 8).
 */

/** Where the key pair is kept; IndexedDB by default (a CryptoKey survives structured cloning there). */
export interface DpopKeyStore {
  get(): Promise<CryptoKeyPair | undefined>;
  set(pair: CryptoKeyPair): Promise<void>;
}

export interface DpopKey {
  readonly privateKey: CryptoKey;
  /** The public key as a JWK of its required members only (RFC 7638 3.2). */
  readonly jwk: { readonly kty: 'EC'; readonly crv: 'P-256'; readonly x: string; readonly y: string };
  /** RFC 7638 SHA-256 thumbprint, base64url: the `dpop_jkt` of the authorization request (RFC 9449 10). */
  readonly jkt: string;
}

const DB_NAME = 'par-proxy';
const STORE = 'dpop';
const KEY_ID = 'key';

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const encode = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));
const sha256 = async (text: string) => base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function database(): Promise<IDBDatabase> {
  const open = indexedDB.open(DB_NAME, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  return request(open);
}

/** The browser's IndexedDB: one key pair per origin. */
export const indexedDbKeyStore: DpopKeyStore = {
  async get() {
    const db = await database();
    try {
      return (await request(db.transaction(STORE).objectStore(STORE).get(KEY_ID))) as CryptoKeyPair | undefined;
    } finally {
      db.close();
    }
  },
  async set(pair) {
    const db = await database();
    try {
      await request(db.transaction(STORE, 'readwrite').objectStore(STORE).put(pair, KEY_ID));
    } finally {
      db.close();
    }
  },
};

/** The origin's key, made on first use. The private key is not extractable: exportKey refuses it. */
export async function dpopKey(store: DpopKeyStore = indexedDbKeyStore): Promise<DpopKey> {
  let pair = await store.get();
  if (pair === undefined) {
    pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    await store.set(pair);
  }
  const { x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const jwk = { kty: 'EC', crv: 'P-256', x: x!, y: y! } as const;
  // RFC 7638 3.3: the required members in lexicographic order, no whitespace.
  const jkt = await sha256(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }));
  return { privateKey: pair.privateKey, jwk, jkt };
}

/** RFC 9449 8: the last nonce each server (by origin) named, for the next proof to it. */
const nonces = new Map<string, string>();

export function rememberNonce(url: string, nonce: string | null): void {
  if (nonce !== null && nonce !== '') nonces.set(new URL(url).origin, nonce);
}

/**
 * RFC 9449 4.2: a proof for `htm` `htu` (no query or fragment), with the server's last nonce, and
 * `ath` (the access token's SHA-256) when it goes to a resource server (section 7.1).
 */
export async function createProof(key: DpopKey, htm: string, htu: string, accessToken?: string): Promise<string> {
  const url = new URL(htu);
  const nonce = nonces.get(url.origin);
  const header = encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk });
  const payload = encode({
    jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
    htm,
    htu: `${url.origin}${url.pathname}`,
    iat: Math.floor(Date.now() / 1000),
    ...(nonce === undefined ? {} : { nonce }),
    ...(accessToken === undefined ? {} : { ath: await sha256(accessToken) }),
  });
  const input = `${header}.${payload}`;
  // WebCrypto's ECDSA signature is already JWS's r || s (RFC 7518 3.4).
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}
