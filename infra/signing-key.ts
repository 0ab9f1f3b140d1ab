import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { SIGNING_ALGS } from '../functions/core/jws.ts';
import type { KeyGenerations, KeySpecName, SigningAlg } from './config.ts';

/**
 * What the account (its root principal, i.e. IAM policies in the account) may do to a signing key:
 * manage it, never use it. Listed one by one instead of CDK's default `kms:*` for the root, which
 * would let any principal with an IAM `kms:*` sign request objects as this client. No kms:Sign,
 * kms:Verify, kms:GetPublicKey or kms:CreateGrant (a grant could hand out Sign).
 * PutKeyPolicy stays: without it the key would be unmanageable (and KMS refuses such a policy).
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:EnableKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
] as const;

/**
 * The only signatures a function may ask for: the configured algorithm, over a digest it computed
 * (functions/adapters/kms-signer.ts). Plain StringEquals: the `IfExists` and `ForAllValues:` forms
 * would also pass a request without the key. A compromised runtime can then neither sign a raw
 * message of its choosing nor use another algorithm the key supports.
 */
export function signConditions(alg: SigningAlg): Record<string, Record<string, string>> {
  return { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGS[alg].kms, 'kms:MessageType': 'DIGEST' } };
}

/**
 * Grants `actions` on `key` to `grantee`, with `conditions`, in the key policy (naming its role) and
 * in its own policy (this key's ARN). Both are needed: the key policy does not delegate use to IAM,
 * and the identity statement keeps the role's policy exact and self-describing. (`Key.grant` would
 * write only the identity statement for a same-account role, and `iam.PrincipalWithConditions`
 * would condition only the key policy side.)
 */
export function grantOnKey(key: kms.Key, grantee: iam.IGrantable, actions: string[], conditions?: Record<string, Record<string, unknown>>): iam.Grant {
  return iam.Grant.addToPrincipalAndResource({
    grantee,
    actions,
    resourceArns: [key.keyArn],
    resource: key,
    // In a key policy "*" means this key.
    resourceSelfArns: ['*'],
    conditions,
  });
}

export interface SigningKeysProps {
  /** RSA_2048 (default), RSA_3072 or RSA_4096. */
  readonly keySpec?: KeySpecName;
  /** Alias prefix, e.g. `alias/ParProxy`; each key gets `<prefix>/<purpose>`. */
  readonly aliasPrefix: string;
  /** Request object key generations (rotation). @default generation 1 only */
  readonly requestObjectGenerations?: KeyGenerations;
  /** Also create a second key, for private_key_jwt client assertions. */
  readonly assertionKey?: boolean;
  /** The second key's generations. @default generation 1 only */
  readonly assertionGenerations?: KeyGenerations;
  /**
   * Let IAM principals of the account call kms:GetPublicKey (for `npm run public-key` or the AWS CLI).
   * The JWKS endpoint publishes the same key to everyone, so this reveals nothing.
   * @default false: only the functions' roles read it
   */
  readonly publicKeyReadByAccount?: boolean;
}

export interface RsaSigningKeyProps {
  readonly keySpec: KeySpecName;
  readonly description: string;
  readonly publicKeyReadByAccount: boolean;
  /** The rotation generation this key is (1 for a stack's first key). */
  readonly generation: number;
  /** An alias naming this key for as long as it exists, e.g. `alias/ParProxy/request-object-2`. */
  readonly generationAliasName: string;
}

/**
 * One asymmetric RSA key in AWS KMS that signs JWS and never leaves KMS. Its key policy is explicit:
 * the account may administer it, and each use is granted to a named role both in the key policy and
 * in the role's own policy (see `grant`).
 */
export class RsaSigningKey extends Construct {
  readonly key: kms.Key;
  readonly generation: number;
  /** `<prefix>/<purpose>-<generation>`: always this key. (The purpose's moving alias is `SigningKeyGenerations.alias`.) */
  readonly generationAlias: kms.Alias;

  constructor(scope: Construct, id: string, props: RsaSigningKeyProps) {
    super(scope, id);
    this.generation = props.generation;
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'AccountAdministersButDoesNotUseTheKey',
          principals: [new iam.AccountRootPrincipal()],
          actions: [...KEY_ADMIN_ACTIONS],
          // In a key policy "*" means this key.
          resources: ['*'],
        }),
      ],
    });
    if (props.publicKeyReadByAccount) {
      policy.addStatements(
        new iam.PolicyStatement({
          sid: 'AccountReadsThePublicKey',
          principals: [new iam.AccountRootPrincipal()],
          actions: ['kms:GetPublicKey'],
          resources: ['*'],
        }),
      );
    }
    // Passing `policy` replaces CDK's default policy (root: kms:*).
    this.key = new kms.Key(this, 'Key', {
      description: props.description,
      keySpec: kms.KeySpec[props.keySpec],
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      policy,
      // Asymmetric keys cannot rotate automatically: rotate by adding a generation (docs/key-rotation.md).
      enableKeyRotation: false,
      // Deleting the key would make every JWS it signed unverifiable and the client's registered
      // public key useless: it outlives the stack, and its generation's removal from the template;
      // delete it by hand (ScheduleKeyDeletion).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Not "Alias": in generation 1's scope that id belongs to the purpose's moving alias, whose
    // logical id predates generations (see SigningKeyGenerations).
    this.generationAlias = new kms.Alias(this, 'GenerationAlias', { aliasName: props.generationAliasName, targetKey: this.key });
  }

  get keyArn(): string {
    return this.key.keyArn;
  }

  /** kms:Sign with `alg` over digests only, in a statement of its own (see signConditions). */
  grantSign(grantee: iam.IGrantable, alg: SigningAlg): iam.Grant {
    return grantOnKey(this.key, grantee, ['kms:Sign'], signConditions(alg));
  }

  /** Unconditioned: the public key is published anyway. */
  grantReadPublicKey(grantee: iam.IGrantable): iam.Grant {
    return grantOnKey(this.key, grantee, ['kms:GetPublicKey']);
  }
}

/**
 * Every generation of one purpose's key (request objects, or client assertions): each listed
 * generation is its own retained key with its own alias `<prefix>/<purpose>-<N>`; `active` signs,
 * and the alias `<prefix>/<purpose>` follows it. A generation removed from the list leaves the
 * template, and, being retained, stays in the account until its deletion is scheduled by hand.
 *
 * Construct ids keep the logical ids of the stacks that predate generations: generation 1 is
 * `<Purpose>/Key`, the moving alias `<Purpose>/Alias` (in a bare `<Purpose>` scope once generation 1
 * is retired), and generation N > 1 is `<Purpose>N/Key`. The moving alias must keep its logical id:
 * CloudFormation creates a renamed resource before deleting the old one, and KMS refuses a second
 * alias of the same name.
 */
export class SigningKeyGenerations {
  /** By generation, ascending. */
  readonly generations: ReadonlyMap<number, RsaSigningKey>;
  /** The generation that signs. */
  readonly active: RsaSigningKey;
  /** `<prefix>/<purpose>`, pointing at the active generation. */
  readonly alias: kms.Alias;

  constructor(
    scope: Construct,
    id: string,
    props: { keys: KeyGenerations; aliasName: string; description: string; keySpec: KeySpecName; publicKeyReadByAccount: boolean },
  ) {
    const generations = new Map<number, RsaSigningKey>();
    for (const generation of props.keys.listed) {
      generations.set(
        generation,
        new RsaSigningKey(scope, generation === 1 ? id : `${id}${generation}`, {
          keySpec: props.keySpec,
          publicKeyReadByAccount: props.publicKeyReadByAccount,
          generation,
          generationAliasName: `${props.aliasName}-${generation}`,
          description: `${props.description} (generation ${generation})`,
        }),
      );
    }
    const active = generations.get(props.keys.active);
    if (active === undefined) throw new Error(`active generation ${props.keys.active} is not listed`);
    const aliasScope = generations.get(1) ?? new Construct(scope, id);
    this.generations = generations;
    this.active = active;
    this.alias = new kms.Alias(aliasScope, 'Alias', { aliasName: props.aliasName, targetKey: active.key });
  }

  /** Every generation, ascending. */
  get all(): RsaSigningKey[] {
    return [...this.generations.values()];
  }

  /** The generations that are published but do not sign. */
  get inactive(): RsaSigningKey[] {
    return this.all.filter((key) => key !== this.active);
  }
}

const FIRST_GENERATION_ONLY: KeyGenerations = { listed: [1], active: 1 };

/** The proxy's keys: one signs request objects (RFC 9101); an optional second one signs client assertions. */
export class SigningKeys extends Construct {
  readonly requestObject: SigningKeyGenerations;
  readonly assertion?: SigningKeyGenerations;

  constructor(scope: Construct, id: string, props: SigningKeysProps) {
    super(scope, id);
    const common = { keySpec: props.keySpec ?? 'RSA_2048', publicKeyReadByAccount: props.publicKeyReadByAccount ?? false };
    const stackName = Stack.of(this).stackName;
    this.requestObject = new SigningKeyGenerations(this, 'RequestObjectKey', {
      ...common,
      keys: props.requestObjectGenerations ?? FIRST_GENERATION_ONLY,
      aliasName: `${props.aliasPrefix}/request-object`,
      description: `${stackName}: signs the PAR proxy's request objects (RFC 9101)`,
    });
    if (props.assertionKey) {
      this.assertion = new SigningKeyGenerations(this, 'ClientAssertionKey', {
        ...common,
        keys: props.assertionGenerations ?? FIRST_GENERATION_ONLY,
        aliasName: `${props.aliasPrefix}/client-assertion`,
        description: `${stackName}: signs the PAR proxy's private_key_jwt client assertions`,
      });
    }
  }

  /** The key that signs request objects. */
  get requestObjectKey(): RsaSigningKey {
    return this.requestObject.active;
  }

  /** The key that signs client assertions, when there is a second one. */
  get assertionKey(): RsaSigningKey | undefined {
    return this.assertion?.active;
  }
}
