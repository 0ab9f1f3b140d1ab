import * as v from 'valibot';
import { InvalidRequestError } from './errors.ts';

/** Shared pieces of request validation: plain strings, and refusals that name the field. */
const NO_CONTROLS = /^[^\u0000-\u001f\u007f]*$/;

/** A non-empty string without control characters, at most `max` characters. */
export const text = (max: number) =>
  v.pipe(
    v.string('must be a string'),
    v.minLength(1, 'must not be empty'),
    v.maxLength(max, `must be at most ${max} characters`),
    v.regex(NO_CONTROLS, 'must not contain control characters'),
  );

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
