import * as v from 'valibot';
import { InvalidRequestError } from './errors.ts';
import { parseOrRefuse, refuseUnknownFields, refuseUnsafeStrings, requireObject, text } from './validation.ts';

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
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Values separated by single spaces, none of them empty (OpenID Connect Core 3.1.2.1: ui_locales, acr_values). */
const SPACE_SEPARATED = /^\S+( \S+)*$/;

/**
 * OpenID Connect Core 3.1.2.1 and Initiating User Registration 4 (`create`): a space-separated set,
 * each value at most once, `none` only alone.
 */
const PROMPTS = new Set(['none', 'login', 'consent', 'select_account', 'create']);
function isPromptSet(prompt: string): boolean {
  const values = prompt.split(' ');
  return (
    values.every((value) => PROMPTS.has(value)) &&
    new Set(values).size === values.length &&
    (values.length === 1 || !values.includes('none'))
  );
}

/**
 * The response modes of a code flow whose code the SPA receives at its redirect URI: `fragment`
 * and `web_message` are not among them (OAuth 2.0 Multiple Response Types, Form Post Response Mode,
 * JARM 2.3).
 */
const RESPONSE_MODES = ['query', 'form_post', 'jwt', 'query.jwt', 'form_post.jwt'] as const;

/** The largest max_age servers take: many keep it in a 32-bit signed integer. */
const MAX_AGE_LIMIT = 2 ** 31 - 1;

const AUTHORIZATION_DETAIL = v.looseObject({
  type: v.pipe(v.string('must have a string type'), v.minLength(1, 'must have a non-empty type')),
});

const INTENT = v.strictObject({
  redirect_uri: text(MAX_STRING),
  // RFC 7636 4.2: BASE64URL(SHA256(verifier)); 43-128 characters of the unreserved base64url set.
  code_challenge: v.pipe(
    v.string('must be a string'),
    v.regex(BASE64URL, 'must be base64url'),
    v.minLength(43, 'must be 43 to 128 characters'),
    v.maxLength(128, 'must be 43 to 128 characters'),
  ),
  // RFC 9700 2.1.1: plain PKCE is not accepted.
  code_challenge_method: v.literal('S256', 'must be S256'),
  state: text(MAX_STRING),
  response_type: v.optional(v.literal('code', 'must be code (the proxy only starts the authorization code flow)')),
  scope: v.optional(text(MAX_STRING)),
  nonce: v.optional(text(MAX_STRING)),
  audience: v.optional(text(MAX_STRING)),
  prompt: v.optional(
    v.pipe(
      text(256),
      v.check(isPromptSet, 'must be none, or a space-separated set of login, consent, select_account and create, each at most once'),
    ),
  ),
  login_hint: v.optional(text(MAX_STRING)),
  ui_locales: v.optional(v.pipe(text(256), v.regex(SPACE_SEPARATED, 'must be space-separated values'))),
  acr_values: v.optional(v.pipe(text(MAX_STRING), v.regex(SPACE_SEPARATED, 'must be space-separated values'))),
  organization: v.optional(text(256)),
  invitation: v.optional(text(256)),
  screen_hint: v.optional(text(64)),
  connection: v.optional(text(256)),
  response_mode: v.optional(v.picklist(RESPONSE_MODES, `must be ${RESPONSE_MODES.slice(0, -1).join(', ')} or ${RESPONSE_MODES.at(-1)}`)),
  // RFC 9449 10: the base64url SHA-256 JWK thumbprint of the DPoP key.
  dpop_jkt: v.optional(v.pipe(text(43), v.regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url SHA-256 thumbprint'))),
  max_age: v.optional(
    v.pipe(
      v.number('must be a number'),
      v.safeInteger('must be an integer'),
      v.minValue(0, 'must not be negative'),
      v.maxValue(MAX_AGE_LIMIT, `must be at most ${MAX_AGE_LIMIT}`),
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
  /** ALLOW_PROMPT_NONE: whether a caller may ask for a silent login; absent, it may not. */
  readonly allowPromptNone?: boolean;
}

/** Limit on the serialized authorization_details, in bytes: a few KiB, well inside Auth0's 10 KB PAR limit. */
export const MAX_AUTHORIZATION_DETAILS_BYTES = 4096;

export function parseIntent(input: unknown, policy: IntentPolicy): Intent {
  const body = requireObject(input);
  for (const key of Object.keys(body)) {
    if (PROXY_OWNED.has(key)) throw new InvalidRequestError(`${key} is set by the proxy and must not be sent`);
  }
  refuseUnknownFields(body, INTENT.entries);
  refuseUncopyableDetailKeys(body.authorization_details);
  refuseUnsafeStrings(body);
  const intent = parseOrRefuse(INTENT, body);
  // RFC 9700 2.1: exact string comparison, no normalisation.
  if (!policy.allowedRedirectUris.has(intent.redirect_uri)) {
    throw new InvalidRequestError('redirect_uri is not an allowed redirect URI');
  }
  // Anyone who can reach /par could otherwise start a silent login in a user's browser (SECURITY.md).
  if (intent.prompt === 'none' && policy.allowPromptNone !== true) {
    throw new InvalidRequestError('prompt none is not allowed by this proxy');
  }
  // OpenID Connect Core 3.1.2.1: max_age is an OpenID Connect parameter, refused without openid.
  if (intent.max_age !== undefined && !(intent.scope ?? '').split(' ').includes('openid')) {
    throw new InvalidRequestError('max_age needs openid in scope');
  }
  if (intent.authorization_details !== undefined) checkAuthorizationDetails(intent.authorization_details, policy);
  return intent;
}

/**
 * Keys that valibot, guarding against prototype pollution, leaves out of an object it copies: an
 * entry holding one would be signed without it, so it is refused instead.
 */
const UNCOPYABLE_KEYS = ['__proto__', 'constructor', 'prototype'];

function refuseUncopyableDetailKeys(details: unknown): void {
  if (!Array.isArray(details)) return;
  for (const detail of details) {
    if (typeof detail === 'object' && detail !== null && UNCOPYABLE_KEYS.some((key) => Object.hasOwn(detail, key))) {
      throw new InvalidRequestError('authorization_details has an entry with a reserved key');
    }
  }
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
