import type { LogSink, RequestRecord } from '../functions/app/observability.ts';

/**
 * How `npm start` shows the functions' request log. Lambda's line (Powertools fields plus EMF
 * metrics) is some 600 characters; on a terminal one short line per request reads better:
 *   POST /par 201 34 ms (kms 12, authorization_server 20)
 *   POST /par 400 0 ms invalid_request: redirect_uri is not an allowed redirect URI
 * It is made from the JSON line itself, so it shows nothing the real line does not. `--json`
 * (`npm start -- --json`) or LOCAL_LOG=json prints the raw line instead, for checking what
 * CloudWatch would receive.
 */
export type RequestLogMode = 'readable' | 'json';

export function requestLogMode(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): RequestLogMode {
  if (argv.includes('--json')) return 'json';
  const value = env.LOCAL_LOG;
  if (value === undefined || value === '' || value === 'readable') return 'readable';
  if (value === 'json') return 'json';
  throw new Error(`LOCAL_LOG: expected json or readable, got ${JSON.stringify(value)}`);
}

type Line = Partial<RequestRecord> & { message?: unknown };

/** The readable line for one JSON log line; a line that is not a request record is kept as is. */
export function readableRequestLine(jsonLine: string): string {
  let line: Line;
  try {
    line = JSON.parse(jsonLine) as Line;
  } catch {
    return jsonLine;
  }
  if (line.message !== 'request' || typeof line.method !== 'string' || typeof line.status !== 'number') return jsonLine;
  const upstreams = Object.entries(line.upstreamMs ?? {}).map(([name, ms]) => `${name} ${ms}`);
  const keyFailures = line.keyFailures?.length ?? 0;
  return [
    `${line.method} ${line.route} ${line.status} ${line.durationMs} ms`,
    upstreams.length > 0 ? `(${upstreams.join(', ')})` : '',
    line.error === undefined ? '' : `${line.error}${line.errorDescription === undefined ? '' : `: ${line.errorDescription}`}`,
    line.exception === undefined ? '' : `[${line.exception}]`,
    keyFailures > 0 ? `[${keyFailures} key${keyFailures > 1 ? 's' : ''} unreadable]` : '',
  ]
    .filter((part) => part !== '')
    .join(' ');
}

/** The functions' log sink for `mode`, writing each line with its newline to `write` (stdout). */
export function requestLogSink(mode: RequestLogMode, write: (text: string) => void = (text) => process.stdout.write(text)): LogSink {
  return mode === 'json' ? (line) => write(`${line}\n`) : (line) => write(`${readableRequestLine(line)}\n`);
}
