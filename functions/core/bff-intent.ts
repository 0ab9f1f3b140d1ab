import { InvalidRequestError } from './errors.ts';
import { parseIntent, type Intent, type IntentPolicy } from './intent.ts';
import { parseReturnTo } from './return-to.ts';
import { requireObject } from './validation.ts';

/**
 * The SPA's intent in bff mode. The proxy makes the PKCE verifier, state and nonce itself and keeps
 * them in the login cookie, so the browser that started a login is the only one that can finish it
 * (RFC 10017 6.1); the callback is the proxy's own and reads the query. Everything else is the relay
 * intent, validated by the same rules (core/intent.ts).
 */
const PROXY_MADE = ['redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'nonce', 'dpop_jkt', 'response_mode'] as const;

export interface BffIntentPolicy extends Omit<IntentPolicy, 'allowedRedirectUris'> {
  /** REDIRECT_URI: the proxy's /callback. */
  readonly redirectUri: string;
  /** APP_URL: `return_to` must resolve on its origin. */
  readonly appUrl: string;
  /** RESPONSE_MODE: `jwt` asks for a JARM response. */
  readonly responseMode?: 'query' | 'jwt';
}

/** What the proxy makes for each login (core/session.ts `newLogin`). */
export interface LoginParameters {
  readonly state: string;
  readonly nonce: string;
  readonly codeChallenge: string;
  /** DPOP=true: the thumbprint of the login's key (RFC 9449 10), so the code is bound to it. */
  readonly dpopJkt?: string;
}

export interface BffIntent {
  /** The intent as it is signed: the SPA's fields plus the proxy's redirect_uri, PKCE, state and nonce. */
  readonly intent: Intent;
  readonly returnTo?: string;
}

/** Validates the SPA's part first (400 naming the field), then the whole intent as it will be signed. */
export function parseBffIntent(input: unknown, policy: BffIntentPolicy, login: LoginParameters): BffIntent {
  const { return_to: rawReturnTo, ...fields } = requireObject(input);
  for (const name of PROXY_MADE) {
    if (Object.hasOwn(fields, name)) throw new InvalidRequestError(`${name} is made by the proxy in bff mode and must not be sent`);
  }
  const returnTo = rawReturnTo === undefined ? undefined : parseReturnTo(rawReturnTo, policy.appUrl);
  const intent = parseIntent(
    {
      ...fields,
      redirect_uri: policy.redirectUri,
      code_challenge: login.codeChallenge,
      code_challenge_method: 'S256',
      state: login.state,
      nonce: login.nonce,
      ...(policy.responseMode === 'jwt' ? { response_mode: 'jwt' } : {}),
      ...(login.dpopJkt === undefined ? {} : { dpop_jkt: login.dpopJkt }),
    },
    { ...policy, allowedRedirectUris: new Set([policy.redirectUri]) },
  );
  return { intent, ...(returnTo === undefined ? {} : { returnTo }) };
}
