import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { KeySpecName } from './config.ts';

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

export interface SigningKeysProps {
  /** RSA_2048 (default), RSA_3072 or RSA_4096. */
  readonly keySpec?: KeySpecName;
  /** Alias prefix, e.g. `alias/ParProxy`; each key gets `<prefix>/<purpose>`. */
  readonly aliasPrefix: string;
  /** Also create a second key, for private_key_jwt client assertions. */
  readonly assertionKey?: boolean;
  /**
   * Let IAM principals of the account call kms:GetPublicKey (for `npm run public-key` or the AWS CLI).
   * The JWKS endpoint publishes the same key to everyone, so this reveals nothing.
   * @default false: only the functions' roles read it
   */
  readonly publicKeyReadByAccount?: boolean;
}

/**
 * One asymmetric RSA key in AWS KMS that signs JWS and never leaves KMS. Its key policy is explicit:
 * the account may administer it, and each use is granted to a named role both in the key policy and
 * in the role's own policy (see `grant`).
 */
export class RsaSigningKey extends Construct {
  readonly key: kms.Key;
  readonly alias: kms.Alias;

  constructor(scope: Construct, id: string, props: { keySpec: KeySpecName; aliasName: string; description: string; publicKeyReadByAccount: boolean }) {
    super(scope, id);
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
      // Asymmetric keys cannot rotate automatically: rotate by creating a new key (docs/deploy.md).
      enableKeyRotation: false,
      // Deleting the key would make every JWS it signed unverifiable and the client's registered
      // public key useless: it outlives the stack; delete it by hand (ScheduleKeyDeletion).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.alias = new kms.Alias(this, 'Alias', { aliasName: props.aliasName, targetKey: this.key });
  }

  get keyArn(): string {
    return this.key.keyArn;
  }

  /**
   * Grants `actions` on this key to `grantee`, in the key policy (naming its role) and in its own
   * policy (this key's ARN). Both are needed: the key policy does not delegate use to IAM, and the
   * identity statement keeps the role's policy exact and self-describing. Same-account
   * `Key.grant` would write only the identity statement, which this key policy ignores.
   */
  grant(grantee: iam.IGrantable, ...actions: Array<'kms:Sign' | 'kms:GetPublicKey'>): iam.Grant {
    return kms.KeyGrants.fromKey(this.key, false).actions(grantee, ...actions);
  }

  grantSign(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, 'kms:Sign');
  }

  grantReadPublicKey(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, 'kms:GetPublicKey');
  }
}

/** The proxy's keys: one signs request objects (RFC 9101); an optional second one signs client assertions. */
export class SigningKeys extends Construct {
  readonly requestObjectKey: RsaSigningKey;
  readonly assertionKey?: RsaSigningKey;

  constructor(scope: Construct, id: string, props: SigningKeysProps) {
    super(scope, id);
    const common = { keySpec: props.keySpec ?? 'RSA_2048', publicKeyReadByAccount: props.publicKeyReadByAccount ?? false };
    const stackName = Stack.of(this).stackName;
    this.requestObjectKey = new RsaSigningKey(this, 'RequestObjectKey', {
      ...common,
      aliasName: `${props.aliasPrefix}/request-object`,
      description: `${stackName}: signs the PAR proxy's request objects (RFC 9101)`,
    });
    if (props.assertionKey) {
      this.assertionKey = new RsaSigningKey(this, 'ClientAssertionKey', {
        ...common,
        aliasName: `${props.aliasPrefix}/client-assertion`,
        description: `${stackName}: signs the PAR proxy's private_key_jwt client assertions`,
      });
    }
  }
}
