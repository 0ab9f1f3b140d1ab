import { InvalidRequestError } from './errors.ts';

/**
 * `return_to`: where the callback sends the browser after a login, as a path on APP_URL's origin.
 * An open redirect here would hand an attacker's page a logged-in user's first navigation (RFC 9700
 * 4.11), so the rules are strict and checked twice: syntactically (one leading `/`, not `//`, `/\`
 * or a slash lookalike, no scheme, printable ASCII, no backslash, also after each percent-decoding,
 * since a router or server on the way may decode once more), then by resolving it with the WHATWG
 * URL parser, as the browser will, and requiring APP_URL's origin. What the SPA sends naturally
 * (location.pathname + search + hash) is already percent-encoded ASCII and passes.
 */
/**
 * A login cookie carries it: four of them (core/session.ts MAX_LOGIN_COOKIES) must stay far inside
 * the 10 KiB an HTTP API allows for all request headers, or /par and /callback fail until they expire.
 */
export const MAX_RETURN_TO = 512;

/** Decoding rounds: `%25` nests an encoding in another; deeper nesting than this is refused. */
const MAX_DECODINGS = 4;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Slash and backslash lookalikes a best-fit or NFKC mapping on the way may turn into `/` or `\`. */
const SLASH_LOOKALIKE = /^\/[\u2044\u2215\u2216\u29f5\u29f8\ufe68\uff0f\uff3c]/;

const refuse = (reason: string): never => {
  throw new InvalidRequestError(`return_to ${reason}`);
};

/** The path's problem, or undefined when it is a plain path on the same origin. */
function unsafePath(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be a path starting with /';
  if (path.startsWith('//') || path.startsWith('/\\') || SLASH_LOOKALIKE.test(path)) return 'must not start with // or /\\';
  if (path.includes('\\')) return 'must not contain a backslash';
  if (CONTROL.test(path)) return 'must not contain control characters';
  return undefined;
}

/** A caller's return_to, validated against APP_URL, or undefined when absent. Throws InvalidRequestError. */
export function parseReturnTo(raw: unknown, appUrl: string): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') return refuse('must be a string');
  if (raw.length === 0 || raw.length > MAX_RETURN_TO) return refuse(`must be 1 to ${MAX_RETURN_TO} characters`);
  if (!PRINTABLE_ASCII.test(raw)) return refuse('must be printable ASCII (percent-encode the rest)');

  let current = raw;
  for (let round = 0; ; round += 1) {
    const problem = unsafePath(current);
    if (problem !== undefined) return refuse(problem);
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      // The raw value must be well-formed; a later round's `%` is a literal percent sign.
      if (round === 0) return refuse('has malformed percent-encoding');
      break;
    }
    if (decoded === current) break;
    if (round === MAX_DECODINGS) return refuse('is percent-encoded too many times');
    current = decoded;
  }

  const app = new URL(appUrl);
  if (new URL(raw, app).origin !== app.origin) return refuse("must stay on APP_URL's origin");
  return raw;
}

/**
 * The absolute URL the callback redirects to: return_to on APP_URL's origin (APP_URL itself without
 * one), with `params` (error, error_description) in the query, replacing any of the same name.
 * Anything that would leave APP_URL's origin falls back to APP_URL: this is the last line.
 */
export function returnToUrl(appUrl: string, returnTo: string | undefined, params: Readonly<Record<string, string>> = {}): string {
  const app = new URL(appUrl);
  let url = returnTo === undefined ? app : new URL(returnTo, app);
  if (url.origin !== app.origin) url = app;
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.href;
}
