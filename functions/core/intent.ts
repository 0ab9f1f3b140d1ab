import * as v from 'valibot';
import { InvalidRequestError } from './errors.ts';

/**
 * The SPA's unsigned authorize intent. Validation is strict: an unknown field, a value of the wrong
 * type, or a field the proxy owns is refused with 400 invalid_request naming the field, before
 * anything reaches KMS or the authorization server.
 */

/** Claims and parameters the proxy sets itself or that must never come from the browser. */
const PROXY_OWNED = new Set([
  'iss', 'aud', 'sub', 'client_id', 'exp', 'iat', 'nbf', 'jti', 'request', 'request_uri',
  'client_secret', 'client_assertion', 'client_assertion_type',
]);

const MAX_STRING = 2048;
const NO_CONTROLS = /^[^\u0000-\u001f\u007f]*$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const text = (max = MAX_STRING) =>
  v.pipe(
    v.string('must be a string'),
    v.minLength(1, 'must not be empty'),
    v.maxLength(max, `must be at most ${max} characters`),
    v.regex(NO_CONTROLS, 'must not contain control characters'),
  );

const AUTHORIZATION_DETAIL = v.looseObject({
  type: v.pipe(v.string('must have a string type'), v.minLength(1, 'must have a non-empty type')),
});

const INTENT = v.strictObject({
  redirect_uri: text(),
  // RFC 7636 4.2: BASE64URL(SHA256(verifier)); 43-128 characters of the unreserved base64url set.
  code_challenge: v.pipe(
    v.string('must be a string'),
    v.regex(BASE64URL, 'must be base64url'),
    v.minLength(43, 'must be 43 to 128 characters'),
    v.maxLength(128, 'must be 43 to 128 characters'),
  ),
  // RFC 9700 2.1.1: plain PKCE is not accepted.
  code_challenge_method: v.literal('S256', 'must be S256'),
  state: text(),
  response_type: v.optional(v.literal('code', 'must be code (the proxy only starts the authorization code flow)')),
  scope: v.optional(text()),
  nonce: v.optional(text()),
  audience: v.optional(text()),
  prompt: v.optional(text(256)),
  login_hint: v.optional(text()),
  ui_locales: v.optional(text(256)),
  acr_values: v.optional(text()),
  organization: v.optional(text(256)),
  invitation: v.optional(text(256)),
  screen_hint: v.optional(text(64)),
  connection: v.optional(text(256)),
  response_mode: v.optional(v.pipe(text(64), v.regex(/^[a-z_.]+$/, 'is not a response mode'))),
  // RFC 9449 10: the base64url SHA-256 JWK thumbprint of the DPoP key.
  dpop_jkt: v.optional(v.pipe(text(43), v.regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url SHA-256 thumbprint'))),
  max_age: v.optional(
    v.pipe(
      v.number('must be a number'),
      v.safeInteger('must be an integer'),
      v.minValue(0, 'must not be negative'),
    ),
  ),
  // RFC 9396 2: a JSON array of objects with a string type; types are checked against the allow-list.
  authorization_details: v.optional(
    v.pipe(
      v.array(AUTHORIZATION_DETAIL, 'must be an array of objects'),
      v.minLength(1, 'must not be empty'),
      v.maxLength(16, 'must have at most 16 entries'),
    ),
  ),
});

export type Intent = v.InferOutput<typeof INTENT>;
export type IntentField = keyof Intent;
export const INTENT_FIELDS = Object.keys(INTENT.entries) as IntentField[];

export interface IntentPolicy {
  readonly allowedRedirectUris: ReadonlySet<string>;
  readonly authorizationDetailsTypes: ReadonlySet<string>;
}

/** Limit on the serialized authorization_details, in bytes: a few KiB, well inside Auth0's 10 KB PAR limit. */
export const MAX_AUTHORIZATION_DETAILS_BYTES = 4096;

export function parseIntent(input: unknown, policy: IntentPolicy): Intent {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidRequestError('the body must be a JSON object');
  }
  // Field names first, so that a forbidden or unknown field is named even when others are missing.
  for (const key of Object.keys(input)) {
    if (PROXY_OWNED.has(key)) throw new InvalidRequestError(`${key} is set by the proxy and must not be sent`);
    if (!Object.hasOwn(INTENT.entries, key)) throw new InvalidRequestError(`${fieldName(key)} is not an accepted field`);
  }
  const result = v.safeParse(INTENT, input);
  if (!result.success) throw new InvalidRequestError(describe(result.issues[0]));
  const intent = result.output;
  // RFC 9700 2.1: exact string comparison, no normalisation.
  if (!policy.allowedRedirectUris.has(intent.redirect_uri)) {
    throw new InvalidRequestError('redirect_uri is not an allowed redirect URI');
  }
  if (intent.authorization_details !== undefined) checkAuthorizationDetails(intent.authorization_details, policy);
  return intent;
}

function checkAuthorizationDetails(details: NonNullable<Intent['authorization_details']>, policy: IntentPolicy): void {
  for (const detail of details) {
    if (!policy.authorizationDetailsTypes.has(detail.type)) {
      throw new InvalidRequestError('authorization_details has a type that is not allowed');
    }
  }
  if (Buffer.byteLength(JSON.stringify(details)) > MAX_AUTHORIZATION_DETAILS_BYTES) {
    throw new InvalidRequestError(`authorization_details must be at most ${MAX_AUTHORIZATION_DETAILS_BYTES} bytes`);
  }
}

/** Echoes a field name only when it is short and plain: it came from the caller. */
function fieldName(key: unknown): string {
  return typeof key === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(key) ? key : 'a field';
}

function describe(issue: v.BaseIssue<unknown> | undefined): string {
  const field = fieldName(issue?.path?.[0]?.key);
  if (issue?.path?.length === 1 && issue.input === undefined) return `${field} is required`;
  return `${field} ${issue?.message ?? 'is invalid'}`;
}
