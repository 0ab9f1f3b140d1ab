import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/bundling.ts';
import { exampleCommand } from '../../infra/config.ts';

/**
 * The real CDK CLI on the app, as docs/deploy.md tells a new user to run it, before any context is
 * given. Offline: no credentials, every AWS endpoint on a closed loopback port, no notices, no
 * version check; the synthesized assembly goes to a temporary folder.
 */
const scratch = mkdtempSync(join(tmpdir(), 'par-proxy-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function cdk(args: readonly string[]): { status: number | null; output: string } {
  const child = spawnSync(join(PROJECT_ROOT, 'node_modules/.bin/cdk'), [...args, '--no-notices', '--output', join(scratch, `out-${args[0]}`)], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH,
      // No ~/.aws of the machine's: credentials are missing, as on a fresh laptop before `aws configure`.
      HOME: scratch,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_EC2_METADATA_DISABLED: 'true',
      CDK_DISABLE_VERSION_CHECK: '1',
    },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: child.status, output: `${child.stdout}${child.stderr}` };
}

describe('the CDK CLI on the app, without context', () => {
  it('`cdk synth` fails with every -c value to fix and a command that works, not a stack trace of ours', () => {
    const { status, output } = cdk(['synth', '-c', 'clientId=abc', '-c', 'allowedOrigins=https://app.example.com/']);
    expect(status).not.toBe(0);
    expect(output).toContain('Configuration error: 3 CDK context values need fixing:');
    for (const key of ['issuer', 'allowedRedirectUris', 'allowedOrigins']) expect(output).toContain(`CDK context "${key}"`);
    expect(output).toContain(`  ${exampleCommand()}\n`);
    expect(output).not.toMatch(/\n\s+at .*infra\//);
  }, 120_000);

  it('`cdk bootstrap` for the stack\'s region and us-east-1 (the edge\'s) gets past the app to AWS: only credentials are missing here', () => {
    const { output } = cdk(['bootstrap', 'aws://123456789012/eu-west-1', 'aws://123456789012/us-east-1']);
    expect(output).not.toContain('Configuration error');
    expect(output).toContain('Bootstrapping environment aws://123456789012/eu-west-1');
    expect(output).toContain('Bootstrapping environment aws://123456789012/us-east-1');
    expect(output).toMatch(/credentials/i);
  }, 120_000);
});
