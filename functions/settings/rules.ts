/**
 * The rules a setting's value must follow: small pure functions from the raw string (trimmed,
 * never empty) to a typed value, throwing InvalidSetting with the reason. The reader
 * (functions/settings/reader.ts) adds the setting's name, so the same rule speaks of `ISSUER` in a
 * function's environment and of `issuer` in CDK context.
 */

export class InvalidSetting extends Error {
  override readonly name = 'InvalidSetting';
}

export interface ReadContext {
  /** Read from CDK context for a deployment to AWS, rather than from a function's environment. */
  readonly deployment: boolean;
}

export type Rule<T> = (raw: string, at: ReadContext) => T;

export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

export function invalid(reason: string): never {
  throw new InvalidSetting(reason);
}

export function oneOf<T extends string>(raw: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(raw)) invalid(`must be one of ${values.join(', ')}, got ${raw}`);
  return raw as T;
}

export function integer(raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) invalid(`must be an integer from ${min} to ${max}, got ${raw}`);
  return Number(raw);
}

/** Exactly `true` or `false`; anything else is a typo that must not silently mean either. */
export function boolean(raw: string): boolean {
  if (raw !== 'true' && raw !== 'false') invalid(`must be true or false, got ${raw}`);
  return raw === 'true';
}

/** Printable ASCII (space included unless `spaces` is false), 1 to `max` characters. */
export function printable(raw: string, max: number, spaces = true): string {
  const pattern = spaces ? /^[\x20-\x7e]+$/ : /^[\x21-\x7e]+$/;
  if (raw.length > max || !pattern.test(raw)) invalid(`must be 1 to ${max} printable ASCII characters${spaces ? '' : ' without spaces'}`);
  return raw;
}

/** A JWS `kid`. */
export const kid = (raw: string): string => printable(raw, 128, false);

export function matching(raw: string, pattern: RegExp, reason: string): string {
  if (!pattern.test(raw)) invalid(`${reason}, got ${raw}`);
  return raw;
}

/**
 * Comma-separated items, each trimmed and checked, empty ones dropped, each kept once. The reader
 * treats an empty list as unset, so a required list needs at least one item.
 */
export function list<T>(raw: string, item: (raw: string) => T): T[] {
  const items = raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
  return [...new Set(items.map(item))];
}

export interface UrlOptions {
  /**
   * A URL of the authorization server: the functions call it, so in a deployment it cannot be on
   * loopback (a Lambda function does not reach the developer's machine). URLs the browser uses
   * (origins, redirect URIs) may be, for an SPA on localhost against a deployed proxy.
   */
  readonly authorizationServer?: boolean;
  /** An issuer identifier: no query either (RFC 8414 2), and kept exactly as written. */
  readonly issuer?: boolean;
  /** An origin: scheme://host[:port] exactly as the browser serialises it. */
  readonly origin?: boolean;
  /** Return the WHATWG serialisation (e.g. a trailing slash after a bare host) instead of the string as written. */
  readonly normalise?: boolean;
}

/** An absolute https URL (http only on loopback, for local development) without fragment. */
export function url(raw: string, at: ReadContext, options: UrlOptions = {}): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return invalid(`is not an absolute URL: ${raw}`);
  }
  const loopback = LOOPBACK_HOSTS.has(parsed.hostname);
  if (options.authorizationServer && at.deployment && loopback) {
    invalid(`must not be a loopback address in a deployment: the functions run in AWS and cannot reach ${parsed.host}, got ${raw}`);
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    invalid(`must be an https URL (http only for localhost), got ${raw}`);
  }
  if (raw.includes('#')) invalid(`must not have a fragment: ${raw}`);
  if (options.issuer && raw.includes('?')) invalid(`must not have a query (RFC 8414 2): ${raw}`);
  if (options.origin && parsed.origin !== raw) {
    invalid(`${raw} is not an origin (lower-case scheme://host[:port], no path or trailing slash)`);
  }
  return options.normalise ? parsed.href : raw;
}
