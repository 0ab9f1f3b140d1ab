import * as v from 'valibot';
import { InvalidRequestError } from './errors.ts';
import { MAX_SEALED_LENGTH } from './sealed-cookie.ts';
import { parseOrRefuse, refuseUnknownFields, refuseUnsafeStrings, requireObject, text } from './validation.ts';

/**
 * The SPA's token request: an authorization code with its PKCE verifier, or a refresh token. The
 * proxy adds the client's authentication; everything else is validated strictly here.
 */
const AUTHORIZATION_CODE = v.strictObject({
  grant_type: v.literal('authorization_code'),
  code: text(2048),
  // RFC 7636 4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
  code_verifier: v.pipe(
    v.string('must be a string'),
    v.regex(/^[A-Za-z0-9._~-]{43,128}$/, 'must be 43 to 128 unreserved characters (RFC 7636 4.1)'),
  ),
  redirect_uri: text(2048),
});

const REFRESH_TOKEN = v.strictObject({
  grant_type: v.literal('refresh_token'),
  refresh_token: text(4096),
});

/** With DPoP, relay's refresh tokens are sealed (core/refresh-binding.ts): as long as a sealed value may be. */
const SEALED_REFRESH_TOKEN = v.strictObject({
  grant_type: v.literal('refresh_token'),
  refresh_token: text(MAX_SEALED_LENGTH),
});

export type TokenRequest = v.InferOutput<typeof AUTHORIZATION_CODE> | v.InferOutput<typeof REFRESH_TOKEN>;

export function parseTokenRequest(input: unknown, allowedRedirectUris: ReadonlySet<string>, sealedRefreshTokens = false): TokenRequest {
  const body = requireObject(input);
  const refresh = sealedRefreshTokens ? SEALED_REFRESH_TOKEN : REFRESH_TOKEN;
  const schema =
    body.grant_type === 'authorization_code' ? AUTHORIZATION_CODE : body.grant_type === 'refresh_token' ? refresh : undefined;
  if (schema === undefined) throw new InvalidRequestError('grant_type must be authorization_code or refresh_token');
  refuseUnknownFields(body, schema.entries);
  refuseUnsafeStrings(body);
  const request = parseOrRefuse(schema, body);
  // RFC 6749 4.1.3: the redirect_uri of the authorization request; exact match (RFC 9700 2.1).
  if (request.grant_type === 'authorization_code' && !allowedRedirectUris.has(request.redirect_uri)) {
    throw new InvalidRequestError('redirect_uri is not an allowed redirect URI');
  }
  return request;
}
