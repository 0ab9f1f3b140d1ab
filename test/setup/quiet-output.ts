/**
 * Vitest setup file: what the code under test writes straight to the process's stdout and stderr
 * (the functions' JSON log lines, which Lambda requires on stdout; CDK's bundling notices) goes
 * through vitest's console instead. Vitest files it under the test that wrote it, and with
 * `silent: 'passed-only'` (vitest.config.ts) prints it only when that test fails.
 *
 * Tests that capture output (helpers/output.ts, helpers/leak-collector.ts) replace these writers
 * on top of this one while they capture, so they still see every line.
 */
const vitestConsole = { log: console.log.bind(console), error: console.error.bind(console) };

function through(log: (text: string) => void): typeof process.stdout.write {
  return ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
    // A lone string is printed as is; console adds the newline back.
    log(text.endsWith('\n') ? text.slice(0, -1) : text);
    (typeof encoding === 'function' ? encoding : callback)?.();
    return true;
  }) as typeof process.stdout.write;
}

process.stdout.write = through(vitestConsole.log);
process.stderr.write = through(vitestConsole.error);
