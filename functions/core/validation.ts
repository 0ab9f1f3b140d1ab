import * as v from 'valibot';
import { InvalidRequestError } from './errors.ts';

/** Shared pieces of request validation: plain strings, and refusals that name the field. */

/**
 * Characters no string of a request may hold: C0 and C1 controls, the bidirectional controls of
 * Unicode UAX #9 (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069: an override can make a
 * login_hint read differently on the login page) and the line and paragraph separators. Other
 * format characters stay: the zero-width joiner of emoji sequences, ZWNJ in Persian and Indic scripts.
 */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;
/** With the u flag a surrogate pair is one code point: only a lone surrogate matches. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** Why `value` cannot be signed or forwarded, or undefined when it can. */
function unsafeText(value: string): string | undefined {
  if (CONTROLS.test(value)) return 'must not contain control, bidirectional or line separator characters';
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode';
  return undefined;
}

/** A non-empty string of at most `max` characters (refuseUnsafeStrings has checked its characters). */
export const text = (max: number) =>
  v.pipe(
    v.string('must be a string'),
    v.minLength(1, 'must not be empty'),
    v.maxLength(max, `must be at most ${max} characters`),
  );

/**
 * Refuses a request with an unsafe string anywhere in it (see CONTROLS), nested values and object
 * keys included, naming the top-level field. Iterative: a body of 8 KiB nests at most a few
 * thousand levels, and must not overflow the stack.
 */
export function refuseUnsafeStrings(body: Record<string, unknown>): void {
  for (const [field, value] of Object.entries(body)) {
    const pending: unknown[] = [value];
    while (pending.length > 0) {
      const item = pending.pop();
      let reason: string | undefined;
      if (typeof item === 'string') {
        reason = unsafeText(item);
      } else if (typeof item === 'object' && item !== null) {
        for (const [key, nested] of Object.entries(item)) {
          reason ??= unsafeText(key);
          pending.push(nested);
        }
      }
      if (reason !== undefined) throw new InvalidRequestError(`${fieldName(field)} ${reason}`);
    }
  }
}

/** A field name is echoed only when it is short and plain: it came from the caller. */
export function fieldName(key: unknown, placeholder = 'a field'): string {
  return typeof key === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(key) ? key : placeholder;
}

export function requireObject(input: unknown): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidRequestError('the body must be a JSON object');
  }
  return input as Record<string, unknown>;
}

/** Refuses an unknown field by name before the schema runs, so it is named even when others are missing. */
export function refuseUnknownFields(input: Record<string, unknown>, entries: object): void {
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(entries, key)) throw new InvalidRequestError(`${fieldName(key)} is not an accepted field`);
  }
}

/** Parses with a valibot schema; the first issue becomes a 400 naming its field. */
export function parseOrRefuse<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = fieldName(issue.path?.[0]?.key);
  if (issue.path?.length === 1 && issue.input === undefined) throw new InvalidRequestError(`${field} is required`);
  throw new InvalidRequestError(`${field} ${issue.message}`);
}
