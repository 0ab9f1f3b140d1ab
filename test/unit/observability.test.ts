import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { rsaThumbprint } from '../../functions/adapters/kms-signer.ts';
import {
  DIMENSIONS,
  emfMembers,
  jsonLineTelemetry,
  METRIC,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  NO_UPSTREAM,
  UPSTREAM_LATENCY_METRICS,
  type RequestRecord,
} from '../../functions/app/observability.ts';
import { captureOutput } from '../helpers/output.ts';

const keyFailure = {
  index: 1,
  keyId: 'arn:aws:kms:us-east-1:111122223333:key/0b5f2c1e-1111-2222-3333-444455556666',
  active: false,
  error: 'server_error',
  description: 'KMS refused the call (DisabledException)',
  lastGoodCopy: true,
};
const base: RequestRecord = { requestId: 'r-1', method: 'POST', route: '/par', status: 201, durationMs: 12, upstreamMs: { kms: 5, authorization_server: 6 } };

describe('the request log line', () => {
  it('is one JSON line with Powertools field names and the record', () => {
    const output = captureOutput();
    jsonLineTelemetry('par', () => Date.UTC(2026, 10, 28)).record({ ...base, success: 'Pushed' });
    output.restore();
    const lines = output.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'INFO', message: 'request', timestamp: '2026-11-28T00:00:00.000Z', service: 'par', requestId: 'r-1', status: 201 });
  });

  it('goes to the sink it is given, one line without its newline, and then not to stdout', () => {
    const lines: string[] = [];
    const output = captureOutput();
    jsonLineTelemetry('par', () => 0, (line) => lines.push(line)).record(base);
    output.restore();
    expect(output.text()).toBe('');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ message: 'request', service: 'par', requestId: 'r-1', status: 201 });
    expect(lines[0]).not.toContain('\n');
  });

  it('carries valid EMF: every metric named in a directive has a numeric member, dimensions have values', () => {
    for (const record of [
      { ...base, success: 'Pushed' },
      { ...base, status: 400, upstreamMs: {}, error: 'invalid_request', errorDescription: 'x' },
      { ...base, status: 503, error: 'temporarily_unavailable', errorDescription: 'y', success: 'Pushed', upstream: 'kms' },
      { ...base, status: 400, error: 'invalid_scope', upstream: 'authorization_server', upstreamMs: { secrets_manager: 9, authorization_server: 6 } },
      { ...base, route: '/.well-known/jwks.json', status: 200, keyFailures: [keyFailure] },
      { ...base, status: 500, error: 'server_error', keyFailures: [{ ...keyFailure, active: true }, keyFailure] },
    ] satisfies RequestRecord[]) {
      const members = emfMembers(record, 1);
      const line = { service: 'par', ...record, ...members } as Record<string, unknown>;
      const directives = (members._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] }).CloudWatchMetrics;
      for (const directive of directives) {
        expect(directive.Namespace).toBe(METRICS_NAMESPACE);
        for (const dimension of directive.Dimensions.flat()) expect(typeof line[dimension]).toBe('string');
        for (const metric of directive.Metrics) {
          expect(typeof line[metric.Name]).toBe('number');
          // Published under exactly the declared dimensions: what the dashboard queries.
          expect(directive.Dimensions, metric.Name).toEqual([METRIC_DIMENSIONS[metric.Name as keyof typeof METRIC_DIMENSIONS]]);
        }
      }
    }
  });

  it('names each upstream\'s latency on its own', () => {
    const members = emfMembers({ ...base, upstreamMs: { kms: 5, secrets_manager: 40, authorization_server: 6, api: 12, dynamodb: 3 } }, 1);
    expect(members).toMatchObject({ KmsLatency: 5, SecretsManagerLatency: 40, AuthorizationServerLatency: 6, ApiUpstreamLatency: 12, DynamoDbLatency: 3 });
    expect(Object.values(UPSTREAM_LATENCY_METRICS).sort()).toEqual(['ApiUpstreamLatency', 'AuthorizationServerLatency', 'DynamoDbLatency', 'KmsLatency', 'SecretsManagerLatency']);
    // No Secrets Manager call (the secret was cached): no SecretsManagerLatency, not a 0.
    expect(emfMembers(base, 1)).not.toHaveProperty('SecretsManagerLatency');
  });

  it('counts a failure by the upstream that failed and its reason, a refusal by who refused it', () => {
    const throttled = emfMembers({ ...base, status: 503, error: 'temporarily_unavailable', upstream: 'kms' }, 1);
    expect(throttled).toMatchObject({ UpstreamFailures: 1, Upstream: 'kms', Reason: 'temporarily_unavailable' });
    const rateLimited = emfMembers({ ...base, status: 503, error: 'temporarily_unavailable', upstream: 'authorization_server' }, 1);
    expect(rateLimited).toMatchObject({ UpstreamFailures: 1, Upstream: 'authorization_server' });
    const directive = (rateLimited._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }).CloudWatchMetrics
      .find((d) => d.Metrics.some((m) => m.Name === METRIC.upstreamFailures));
    expect(directive?.Dimensions).toEqual([[DIMENSIONS.service, DIMENSIONS.upstream, DIMENSIONS.reason]]);
    // The proxy's own failure (a bug) and the proxy's own refusal name no upstream.
    expect(emfMembers({ ...base, status: 500, error: 'server_error' }, 1)).toMatchObject({ UpstreamFailures: 1, Upstream: NO_UPSTREAM });
    expect(emfMembers({ ...base, status: 400, error: 'invalid_request' }, 1)).toMatchObject({ Refused: 1, Upstream: NO_UPSTREAM });
    expect(emfMembers({ ...base, status: 400, error: 'invalid_grant', upstream: 'authorization_server' }, 1)).toMatchObject({ Refused: 1, Upstream: 'authorization_server' });
  });

  it('counts a refusal by reason and no success when the request failed', () => {
    const members = emfMembers({ ...base, status: 502, error: 'invalid_client', success: 'Pushed' }, 1);
    expect(members).toMatchObject({ UpstreamFailures: 1, Reason: 'invalid_client', KmsLatency: 5 });
    expect(members.Pushed).toBeUndefined();
    expect(emfMembers({ ...base, status: 400, upstreamMs: {}, error: 'invalid_request' }, 1)).toMatchObject({ Refused: 1 });
    expect(emfMembers({ ...base, upstreamMs: {} }, 1)).toEqual({});
  });
});

describe('a JWKS answer with keys KMS could not read', () => {
  it('counts each failed key in JwksKeyFailures, by service, and logs the line as a warning when the answer is 200', () => {
    const record = { ...base, route: '/.well-known/jwks.json', status: 200, upstreamMs: { kms: 3 }, keyFailures: [keyFailure, { ...keyFailure, index: 2 }] };
    const members = emfMembers(record, 1);
    expect(members).toMatchObject({ JwksKeyFailures: 2, KmsLatency: 3 });
    expect(members.UpstreamFailures).toBeUndefined();
    expect(emfMembers({ ...record, keyFailures: [] }, 1).JwksKeyFailures).toBeUndefined();
    const output = captureOutput();
    jsonLineTelemetry('jwks').record(record);
    output.restore();
    expect(output.lines()[0]).toMatchObject({ level: 'WARN', status: 200, keyFailures: record.keyFailures, JwksKeyFailures: 2 });
  });
});

describe('rsaThumbprint (RFC 7638)', () => {
  it('equals jose\'s calculateJwkThumbprint', async () => {
    for (const modulusLength of [2048, 3072]) {
      const { n, e } = generateKeyPairSync('rsa', { modulusLength }).publicKey.export({ format: 'jwk' });
      expect(rsaThumbprint(n!, e!)).toBe(await calculateJwkThumbprint({ kty: 'RSA', n: n!, e: e! }, 'sha256'));
    }
  });

  it('matches the RFC 7638 3.1 example', () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    expect(rsaThumbprint(n, 'AQAB')).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
});
