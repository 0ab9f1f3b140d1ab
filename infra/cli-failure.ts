/**
 * How the project's command-line scripts (npm start, npm run build, npm run bench) fail: one line on
 * stderr that names the command, says what went wrong and what to do, and no stack trace. A new
 * user reads the line, not Node's dump of our internals.
 */

/** A failure the user can fix: its message already says how. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Controls (C0, DEL, C1), format characters (bidi overrides, zero-width) and line separators: none belongs on a terminal line. */
export const printable = (text: unknown): string => String(text).replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '');

/** The one line for `error`: `command: message (hint)`; a CliError's message is its own hint. */
export function failureLine(command: string, error: unknown, hint: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  // Multi-line messages (esbuild's "Build failed with 1 error:\n...") joined into one.
  const text = printable(`${message}${cause}`.replace(/\s*\n\s*/g, ' ').trim());
  return error instanceof CliError ? `${command}: ${text}` : `${command}: ${text} (${hint})`;
}

/**
 * From here on, any error nobody catches, a rejected top-level await included, ends the process
 * with its one line: `explain` turns an error it recognises (a port in use) into a CliError, and
 * `hint` says what to do about a failure no message of ours anticipated.
 */
export function failInOneLine(command: string, hint: string, explain: (error: unknown) => CliError | undefined = () => undefined): void {
  const fail = (error: unknown) => {
    const known = explain(error) ?? error;
    console.error(failureLine(command, known, hint));
    process.exit(known instanceof CliError ? known.exitCode : 1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}
