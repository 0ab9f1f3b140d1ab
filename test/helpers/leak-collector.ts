import { format } from 'node:util';
import { captureOutput } from './output.ts';

/**
 * Collects everything a test file makes the proxy log (stdout, stderr, console.*) and answer, and
 * checks it for what must never leave the proxy: the client secret, request objects and other
 * compact JWS, authorization codes, tokens, and stack traces.
 *
 * Each file under test/hostile and test/load owns one collector, feeds it from every test, and ends
 * with a test named "no leaks: ..." that asserts on it (vitest runs files in separate processes, so
 * one collector per file is the honest way to see everything).
 *
 * Two modes: `keep` keeps the text and checks it at the end (secrets learnt later, such as request
 * objects captured at the authorization server, are checked too); `stream` checks every chunk when it
 * arrives and keeps only counts, so a 20,000-request load run stays memory-flat.
 */
export const LEAK_PATTERNS: ReadonlyArray<readonly [string, RegExp]> = [
  // Request objects, ID tokens, client assertions: header and payload are base64url JSON objects.
  ['a compact JWS', /eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}/],
  ['a stack frame', /^\s*at .*:\d+:\d+\)?\s*$/m],
  ['a stack property', /"stack"\s*:/],
  ['an exception message', /\b(?:Error|TypeError|RangeError|SyntaxError|InvalidCharacterError|DOMException)\b: [^"\n]/],
];

export interface LeakFinding {
  readonly what: string;
  /** The surroundings, with the leaked value masked. */
  readonly context: string;
}

export interface LeakReport {
  readonly bytes: number;
  /** Structured log lines seen (the proxy's one line per request). */
  readonly requestLogLines: number;
  readonly answers: number;
  readonly findings: readonly LeakFinding[];
}

export interface LeakCollector {
  /** Exact values that must never appear (secrets, codes, tokens, request objects). */
  secret(...values: readonly (string | undefined | null)[]): void;
  /** Captures stdout, stderr and console.* until the returned function is called. */
  watch(): () => void;
  /**
   * An answer the proxy gave. A 200 from /token carries tokens by design: `tokensByDesign` keeps
   * its headers but not its body.
   */
  answer(answer: { status: number; headers: Record<string, unknown>; raw: string }, options?: { tokensByDesign?: boolean }): void;
  add(text: string): void;
  report(): LeakReport;
}

const MAX_FINDINGS = 20;

export function createLeakCollector(mode: 'keep' | 'stream' = 'keep'): LeakCollector {
  const secrets = new Set<string>();
  const kept: string[] = [];
  const findings: LeakFinding[] = [];
  let bytes = 0;
  let requestLogLines = 0;
  let answers = 0;

  const mask = (text: string) => {
    let masked = text;
    for (const secret of secrets) masked = masked.split(secret).join('***');
    return masked.replace(/eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}/g, '<jws>');
  };
  const around = (text: string, at: number) => mask(text.slice(Math.max(0, at - 80), at + 120));

  const scan = (text: string) => {
    if (findings.length >= MAX_FINDINGS) return;
    for (const secret of secrets) {
      const at = text.indexOf(secret);
      if (at >= 0) findings.push({ what: `a secret value (${secret.length} characters)`, context: around(text, at) });
    }
    for (const [what, pattern] of LEAK_PATTERNS) {
      const match = pattern.exec(text);
      if (match !== null) findings.push({ what, context: around(text, match.index) });
    }
  };

  const add = (text: string) => {
    if (text === '') return;
    bytes += Buffer.byteLength(text);
    requestLogLines += text.split('"message":"request"').length - 1;
    if (mode === 'keep') kept.push(text);
    else scan(text);
  };

  const hookConsole = (sink: (text: string) => void) => {
    const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
    const saved = methods.map((m) => [m, console[m]] as const);
    for (const m of methods) console[m] = (...args: unknown[]) => sink(`${format(...args)}\n`);
    return () => {
      for (const [m, fn] of saved) console[m] = fn;
    };
  };

  return {
    secret: (...values) => {
      for (const value of values) if (typeof value === 'string' && value.length >= 6) secrets.add(value);
    },
    watch: () => {
      if (mode === 'keep') {
        const output = captureOutput();
        const consoleText: string[] = [];
        const restoreConsole = hookConsole((text) => consoleText.push(text));
        return () => {
          restoreConsole();
          output.restore();
          add(output.text());
          add(consoleText.join(''));
        };
      }
      // Streaming: every chunk is checked as it is written, then dropped.
      const original = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
      const sink = (chunk: unknown) => {
        add(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
        return true;
      };
      process.stdout.write = sink as typeof process.stdout.write;
      process.stderr.write = sink as typeof process.stderr.write;
      const restoreConsole = hookConsole(add);
      return () => {
        restoreConsole();
        process.stdout.write = original.out;
        process.stderr.write = original.err;
      };
    },
    answer: (answer, options = {}) => {
      answers += 1;
      add(JSON.stringify(answer.headers));
      if (options.tokensByDesign !== true) add(answer.raw);
    },
    add,
    report: () => {
      if (mode === 'keep') {
        findings.length = 0;
        for (const text of kept) scan(text);
      }
      return { bytes, requestLogLines, answers, findings: [...findings] };
    },
  };
}
