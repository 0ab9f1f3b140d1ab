import { randomUUID } from 'node:crypto';
import { AwsFault, startAwsJsonServer, type AwsJsonServer } from './aws-json-server.ts';
import { FAKE_ACCOUNT, FAKE_REGION } from './fake-kms.ts';

/**
 * A Secrets Manager stand-in on 127.0.0.1: GetSecretValue with AWSCURRENT / AWSPREVIOUS staging
 * labels, and PutSecretValue, which moves AWSCURRENT to AWSPREVIOUS as a rotation does.
 */
interface Version {
  readonly id: string;
  readonly value: string;
}

interface FakeSecret {
  readonly name: string;
  readonly arn: string;
  current: Version;
  previous?: Version;
}

export interface FakeSecretsManager extends AwsJsonServer {
  createSecret(name: string, value: string): FakeSecret;
  /** Stores a new current value; the old one becomes AWSPREVIOUS. */
  rotate(name: string, value: string): void;
}

export async function startFakeSecretsManager(port = 0): Promise<FakeSecretsManager> {
  const secrets = new Map<string, FakeSecret>();
  const find = (secretId: unknown): FakeSecret => {
    const secret = [...secrets.values()].find((s) => s.name === secretId || s.arn === secretId);
    if (secret === undefined) {
      throw new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    return secret;
  };
  const rotate = (name: string, value: string) => {
    const secret = find(name);
    secret.previous = secret.current;
    secret.current = { id: randomUUID(), value };
  };

  const server = await startAwsJsonServer(
    'secretsmanager',
    {
      GetSecretValue: (input) => {
        const secret = find(input.SecretId);
        const stage = (input.VersionStage as string | undefined) ?? 'AWSCURRENT';
        const version = stage === 'AWSCURRENT' ? secret.current : stage === 'AWSPREVIOUS' ? secret.previous : undefined;
        if (version === undefined) {
          throw new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label");
        }
        return {
          ARN: secret.arn,
          Name: secret.name,
          SecretString: version.value,
          VersionId: version.id,
          VersionStages: [stage],
          CreatedDate: Date.now() / 1000,
        };
      },
      PutSecretValue: (input) => {
        rotate(String(input.SecretId), String(input.SecretString));
        const secret = find(input.SecretId);
        return { ARN: secret.arn, Name: secret.name, VersionId: secret.current.id, VersionStages: ['AWSCURRENT'] };
      },
    },
    port,
  );

  return {
    ...server,
    createSecret(name, value) {
      const secret: FakeSecret = {
        name,
        arn: `arn:aws:secretsmanager:${FAKE_REGION}:${FAKE_ACCOUNT}:secret:${name}-AbCdEf`,
        current: { id: randomUUID(), value },
      };
      secrets.set(name, secret);
      return secret;
    },
    rotate,
  };
}
