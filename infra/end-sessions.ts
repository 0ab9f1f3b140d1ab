import { parseArgs } from 'node:util';
import { dynamoDbClient } from '../functions/adapters/aws-clients.ts';
import { DynamoDbSessionStore } from '../functions/adapters/dynamodb-session-store.ts';
import { Deadline } from '../functions/core/deadline.ts';
import { OAuthError } from '../functions/core/errors.ts';

/**
 * `npm run end-sessions -- --sub SUB [--table NAME]`: ends every server-side session of a user
 * (SESSION_STORE=dynamodb) at once, with the operator's AWS credentials: the by-sub index is
 * queried and each session deleted, so the user's cookies open nothing any more, in every browser.
 * The same code as the bff's back-channel logout (functions/adapters/dynamodb-session-store.ts). The
 * tokens are not revoked at the authorization server: do that there (or end the user's sessions
 * there, which calls the proxy's back-channel logout). It needs dynamodb:Query on the by-sub index
 * and dynamodb:DeleteItem on the table, and the key's use through DynamoDB.
 */
const USAGE = `usage: npm run end-sessions -- --sub SUB [--table NAME]
NAME defaults to $SESSION_TABLE_NAME (the stack's SessionTableName output).
With the local stack (SESSION_STORE=dynamodb npm start):
  AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:3004 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\
    npm run end-sessions -- --sub katherine.johnson --table par-proxy-sessions`;

const TIMEOUT_MS = 8000;

async function main(): Promise<number> {
  let values: { sub?: string; table?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { sub: { type: 'string' }, table: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const table = values.table ?? process.env.SESSION_TABLE_NAME;
  if (values.sub === undefined || values.sub === '' || table === undefined || table === '') {
    console.error(USAGE);
    return 2;
  }
  // Nothing is sealed or opened here: deleting needs no session keys.
  const noKeys = { seal: () => Promise.reject(new Error('no keys')), open: () => Promise.reject(new Error('no keys')) };
  const client = dynamoDbClient({ timeoutMs: TIMEOUT_MS });
  try {
    const store = new DynamoDbSessionStore(client, table, noKeys);
    const ended = await store.deleteMatching({ sub: values.sub }, Deadline.start(Date.now, TIMEOUT_MS, TIMEOUT_MS));
    console.log(`ended ${ended} session${ended === 1 ? '' : 's'} of ${JSON.stringify(values.sub)} in ${table}`);
    return 0;
  } catch (error) {
    console.error(error instanceof OAuthError ? error.description : `failed: ${(error as Error).name}`);
    return 1;
  } finally {
    client.destroy();
  }
}

process.exitCode = await main();
