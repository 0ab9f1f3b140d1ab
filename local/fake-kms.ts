import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { AwsFault, startAwsJsonServer, type AwsJsonServer } from './aws-json-server.ts';
import { hashOf, signDigest, type DigestAlgorithm } from './rsa-digest-sign.ts';

/**
 * A KMS stand-in on 127.0.0.1 for the local stack and tests: RSA SIGN_VERIFY keys generated in
 * memory at start (never written anywhere), Sign with MessageType DIGEST or RAW, GetPublicKey.
 * A key can be disabled, scheduled for deletion or deleted, and then fails as real KMS fails.
 */
export const FAKE_ACCOUNT = '000000000000';
export const FAKE_REGION = 'us-east-1';

const ALGORITHMS: readonly DigestAlgorithm[] = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
];

/** KMS KeyState values the fake models; a deleted key is gone (NotFoundException). */
export type FakeKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface FakeKey {
  readonly keyId: string;
  readonly arn: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keySpec: string;
}

export interface FakeKms extends AwsJsonServer {
  /** Creates an RSA key, optionally with an alias (`alias/...`). */
  createKey(options?: { alias?: string; modulusLength?: 2048 | 3072 | 4096 }): FakeKey;
  /** Points an alias at another key, as a rotation does. */
  updateAlias(alias: string, keyId: string): void;
  publicKeyOf(keyIdOrAlias: string): KeyObject;
  /** DisableKey, EnableKey, ScheduleKeyDeletion: Sign and GetPublicKey then fail as in KMS. */
  setKeyState(keyIdOrAlias: string, state: FakeKeyState): void;
  /** The end of the deletion window: the key no longer exists. */
  deleteKey(keyIdOrAlias: string): void;
}

export async function startFakeKms(port = 0): Promise<FakeKms> {
  const keys = new Map<string, FakeKey>();
  const aliases = new Map<string, string>();
  const states = new Map<string, FakeKeyState>();

  const resolve = (keyId: unknown): FakeKey => {
    if (typeof keyId !== 'string') throw new AwsFault('ValidationException', 'KeyId is required');
    let id = keyId.replace(/^arn:aws:kms:[^:]+:\d+:/, '');
    if (id.startsWith('key/')) id = id.slice(4);
    if (id.startsWith('alias/')) id = aliases.get(id) ?? '';
    const key = keys.get(id);
    if (key === undefined) throw new AwsFault('NotFoundException', `Key '${keyId}' does not exist`);
    return key;
  };

  /** What KMS answers a cryptographic operation on a key that is not enabled (HTTP 400, AWS JSON 1.1). */
  const usable = (keyId: unknown): FakeKey => {
    const key = resolve(keyId);
    const state = states.get(key.keyId) ?? 'Enabled';
    if (state === 'Disabled') throw new AwsFault('DisabledException', `${key.arn} is disabled.`);
    if (state === 'PendingDeletion') throw new AwsFault('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    return key;
  };

  const server = await startAwsJsonServer(
    'TrentService',
    {
      Sign: (input) => {
        const key = usable(input.KeyId);
        const algorithm = input.SigningAlgorithm as DigestAlgorithm;
        if (!ALGORITHMS.includes(algorithm)) throw new AwsFault('InvalidKeyUsageException', 'unsupported algorithm');
        const message = Buffer.from(String(input.Message ?? ''), 'base64');
        const hash = hashOf(algorithm);
        let digest = message;
        if (input.MessageType === 'DIGEST') {
          if (message.length !== (hash === 'sha256' ? 32 : 48)) {
            throw new AwsFault('ValidationException', 'Digest is invalid length for algorithm');
          }
        } else {
          if (message.length > 4096) throw new AwsFault('ValidationException', 'Message too long');
          digest = createHash(hash).update(message).digest();
        }
        const signature = signDigest(key.privateKey, algorithm, digest);
        return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
      },
      GetPublicKey: (input) => {
        const key = usable(input.KeyId);
        return {
          KeyId: key.arn,
          KeySpec: key.keySpec,
          KeyUsage: 'SIGN_VERIFY',
          PublicKey: key.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
          SigningAlgorithms: ALGORITHMS,
        };
      },
      DescribeKey: (input) => {
        const key = resolve(input.KeyId);
        const state = states.get(key.keyId) ?? 'Enabled';
        return {
          KeyMetadata: { KeyId: key.keyId, Arn: key.arn, KeySpec: key.keySpec, KeyUsage: 'SIGN_VERIFY', Enabled: state === 'Enabled', KeyState: state },
        };
      },
    },
    port,
  );

  return {
    ...server,
    createKey(options = {}) {
      const modulusLength = options.modulusLength ?? 2048;
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
      const keyId = randomUUID();
      const key = {
        keyId,
        arn: `arn:aws:kms:${FAKE_REGION}:${FAKE_ACCOUNT}:key/${keyId}`,
        privateKey,
        publicKey,
        keySpec: `RSA_${modulusLength}`,
      };
      keys.set(keyId, key);
      if (options.alias !== undefined) aliases.set(options.alias, keyId);
      return key;
    },
    updateAlias(alias, keyId) {
      aliases.set(alias, resolve(keyId).keyId);
    },
    publicKeyOf(keyIdOrAlias) {
      return resolve(keyIdOrAlias).publicKey;
    },
    setKeyState(keyIdOrAlias, state) {
      states.set(resolve(keyIdOrAlias).keyId, state);
    },
    deleteKey(keyIdOrAlias) {
      const { keyId } = resolve(keyIdOrAlias);
      keys.delete(keyId);
      states.delete(keyId);
    },
  };
}
