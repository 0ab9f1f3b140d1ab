import type { ClientAuthMethod } from '../core/config.ts';
import type { Deadline } from '../core/deadline.ts';
import { newJti } from '../core/request-object.ts';
import type { AuthorizationServer } from './authorization-server.ts';
import { oauthError } from './authorization-server.ts';
import type { ClientSecretSource } from './client-secret.ts';
import type { HttpResponse } from './http-client.ts';
import type { KmsSigner } from './kms-signer.ts';

/** What one attempt adds to a request to the PAR or token endpoint to authenticate the client. */
export interface ClientCredential {
  readonly params: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** The secret this credential carries, to recognise it after a rejection. */
  readonly secret?: string;
}

export interface ClientAuthentication {
  readonly method: ClientAuthMethod;
  credential(deadline: Deadline): Promise<ClientCredential>;
  /** Another credential to try once after `invalid_client`, or undefined. */
  afterRejection(refused: ClientCredential, deadline: Deadline): Promise<ClientCredential | undefined>;
  /** Loads what the first credential needs (the secret, the key's kid) ahead of time. */
  prefetch(deadline: Deadline): Promise<void>;
}

/** RFC 6749 2.3.1: client id and secret are form-urlencoded before they are joined and base64-encoded. */
export function basicAuthorization(clientId: string, secret: string): string {
  const encode = (value: string) => new URLSearchParams([['', value]]).toString().slice(1);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

export function clientSecretAuthentication(
  method: 'client_secret_post' | 'client_secret_basic',
  clientId: string,
  secrets: ClientSecretSource,
): ClientAuthentication {
  const credential = (secret: string): ClientCredential =>
    method === 'client_secret_post'
      ? { params: { client_secret: secret }, headers: {}, secret }
      : { params: {}, headers: { authorization: basicAuthorization(clientId, secret) }, secret };
  return {
    method,
    // Timed only when Secrets Manager is called: the secret is cached for minutes.
    credential: async (deadline) => credential(await deadline.cached('secrets_manager', (signal) => secrets.current(signal))),
    afterRejection: async (refused, deadline) => {
      const next = await deadline.timed('secrets_manager', () => secrets.afterRejection(refused.secret ?? '', deadline.signal()));
      return next === undefined ? undefined : credential(next);
    },
    prefetch: async (deadline) => {
      await secrets.current(() => deadline.sharedSignal());
    },
  };
}

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Client assertions are used at once; a minute covers clock skew without making them reusable for long. */
export const CLIENT_ASSERTION_TTL_SECONDS = 60;

/** RFC 7523 2.2 and 3, OpenID Connect Core 9: a JWT signed by the KMS key, fresh for every request. */
export function privateKeyJwtAuthentication(
  clientId: string,
  audience: string,
  signer: KmsSigner,
  clock: () => number,
): ClientAuthentication {
  return {
    method: 'private_key_jwt',
    credential: async (deadline) => {
      const iat = Math.floor(clock() / 1000);
      const claims = {
        iss: clientId,
        sub: clientId,
        aud: audience,
        jti: newJti(),
        iat,
        nbf: iat - 5,
        exp: iat + CLIENT_ASSERTION_TTL_SECONDS,
      };
      const assertion = await signer.signJwt(claims, 'JWT', deadline);
      return { params: { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion }, headers: {} };
    },
    // A KMS-held key is not rotated by a retry: a refusal is final.
    afterRejection: async () => undefined,
    prefetch: (deadline) => signer.prefetch(() => deadline.sharedSignal()),
  };
}

/**
 * Posts a form to the PAR or token endpoint as the client. When the authorization server answers
 * invalid_client (401, or 400 for a posted secret: RFC 6749 5.2), the credential may have been
 * rotated: one more attempt, never more.
 */
export async function postAsClient(
  server: AuthorizationServer,
  auth: ClientAuthentication,
  url: string,
  params: Record<string, string>,
  deadline: Deadline,
  retryStaleSocket = false,
  /**
   * Headers besides the credential's: a DPoP proof, as the SPA sent it (relay), or made anew for each
   * attempt (bff), since a proof is good for one request (RFC 9449 4).
   */
  headers: Readonly<Record<string, string>> | (() => Readonly<Record<string, string>>) = {},
): Promise<HttpResponse> {
  const attempt = (credential: ClientCredential) =>
    server.post(url, new URLSearchParams({ ...params, ...credential.params }), { ...(typeof headers === 'function' ? headers() : headers), ...credential.headers }, deadline, retryStaleSocket);
  const credential = await auth.credential(deadline);
  const response = await attempt(credential);
  const refused = response.status >= 400 && response.status < 500 && oauthError(response)?.error === 'invalid_client';
  if (!refused) return response;
  const next = await auth.afterRejection(credential, deadline);
  return next === undefined ? response : attempt(next);
}
