import { describe, expect, it } from 'vitest';
import { createLeakCollector } from '../helpers/leak-collector.ts';

/** The "no leaks" tests are only as good as the collector: it must see what it is meant to catch. */
describe.each(['keep', 'stream'] as const)('the leak collector (%s mode)', (mode) => {
  it('finds a registered secret, a compact JWS, a stack trace and an exception message, in stdout, stderr, console.* and answers', () => {
    const leaks = createLeakCollector(mode);
    leaks.secret('the-client-secret-for-the-self-test');
    const stop = leaks.watch();
    try {
      process.stdout.write('{"message":"request","oops":"the-client-secret-for-the-self-test"}\n');
      process.stderr.write('eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU\n');
      console.error('Error processing request:', new TypeError('Request with GET/HEAD method cannot have body.'));
    } finally {
      stop();
    }
    leaks.answer({ status: 500, headers: {}, raw: '{"error":"server_error","stack":"x"}' });
    const report = leaks.report();
    expect(report.requestLogLines).toBe(1);
    expect(report.answers).toBe(1);
    const what = report.findings.map((f) => f.what);
    expect(what).toEqual(
      expect.arrayContaining(['a secret value (35 characters)', 'a compact JWS', 'a stack frame', 'an exception message', 'a stack property']),
    );
    // Findings never repeat the secret they found.
    expect(JSON.stringify(report.findings)).not.toContain('the-client-secret-for-the-self-test');
  });

  it('finds nothing in the proxy\'s ordinary log lines and answers', () => {
    const leaks = createLeakCollector(mode);
    leaks.secret('the-client-secret-for-the-self-test');
    const stop = leaks.watch();
    try {
      process.stdout.write(
        '{"level":"WARN","message":"request","service":"par","requestId":"r","method":"POST","route":"/par","status":400,"durationMs":0,"upstreamMs":{},"error":"invalid_request","errorDescription":"state must not contain control characters","exception":"TypeError"}\n',
      );
    } finally {
      stop();
    }
    leaks.answer({ status: 201, headers: { 'cache-control': 'no-store' }, raw: '{"request_uri":"urn:ietf:params:oauth:request_uri:r1","expires_in":30}' });
    leaks.answer({ status: 200, headers: {}, raw: '{"access_token":"eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"}' }, { tokensByDesign: true });
    expect(leaks.report().findings).toEqual([]);
  });
});
