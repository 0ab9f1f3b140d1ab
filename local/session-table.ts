import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { SESSION_TABLE } from '../functions/core/session-store.ts';
import { FAKE_REGION } from './fake-kms.ts';

/**
 * The session table on one machine (SESSION_STORE=dynamodb): dynalite, a DynamoDB implementation
 * in Node, on 127.0.0.1, in memory. The functions reach it through the real client and the SDK's
 * own AWS_ENDPOINT_URL_DYNAMODB; the table is created with the same keys and indexes as the CDK's
 * (infra/session-table.ts). dynalite keeps no TTL: expired records stay until the process ends,
 * and the bff refuses them by their times anyway.
 */
export interface LocalSessionTable {
  readonly url: string;
  readonly tableName: string;
  close(): Promise<void>;
}

export const LOCAL_SESSION_TABLE = 'par-proxy-sessions';

export async function startLocalSessionTable(port = 0, tableName = LOCAL_SESSION_TABLE): Promise<LocalSessionTable> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint: url, region: FAKE_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await client.send(new CreateTableCommand(sessionTableDefinition(tableName)));
  } finally {
    client.destroy();
  }
  return {
    url,
    tableName,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** CreateTable's input: on-demand, the partition key, the by-sub and by-sid indexes (keys only; by-sid also holds sub). */
export function sessionTableDefinition(tableName: string) {
  const { partitionKey, subIndex, subAttribute, sidIndex, sidAttribute } = SESSION_TABLE;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [partitionKey, subAttribute, sidAttribute].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
    KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' as const }],
    GlobalSecondaryIndexes: [
      { IndexName: subIndex, KeySchema: [{ AttributeName: subAttribute, KeyType: 'HASH' as const }], Projection: { ProjectionType: 'KEYS_ONLY' as const } },
      {
        IndexName: sidIndex,
        KeySchema: [{ AttributeName: sidAttribute, KeyType: 'HASH' as const }],
        Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [subAttribute] },
      },
    ],
  };
}
