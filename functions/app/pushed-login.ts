import type { AuthorizationServer } from '../adapters/authorization-server.ts';
import type { ClientAuthentication } from '../adapters/client-authentication.ts';
import type { KmsSigner } from '../adapters/kms-signer.ts';
import { pushAuthorizationRequest } from '../adapters/pushed-authorization.ts';
import type { Deadline } from '../core/deadline.ts';
import type { Intent } from '../core/intent.ts';
import { REQUEST_OBJECT_TYP } from '../core/jws.ts';
import { requestObjectClaims } from '../core/request-object.ts';

/** What signing and pushing a request needs: the same in relay mode's /par and the bff's. */
export interface PushDependencies {
  readonly config: {
    readonly clientId: string;
    readonly issuer: string;
    readonly requestObjectTtl: number;
    readonly parEndpoint?: string;
    readonly authorizationEndpoint?: string;
    /** FAPI 2.0: the server sends iss on every authorization response, whatever its metadata says. */
    readonly fapi2?: boolean;
  };
  readonly signer: Pick<KmsSigner, 'signJwt'>;
  readonly authorizationServer: AuthorizationServer;
  readonly clientAuthentication: ClientAuthentication;
  /** Milliseconds since the epoch. */
  readonly clock: () => number;
}

/** /par's 201 answer (RFC 9126 2.2, plus what the SPA checks the authorization response against). */
export interface PushedLogin {
  readonly request_uri: string;
  readonly expires_in: number;
  readonly authorization_url: string;
  /** RFC 9207 2.4: what the authorization response's iss must equal. */
  readonly issuer: string;
  readonly authorization_response_iss_parameter_supported: boolean;
}

/**
 * A validated intent becomes a KMS-signed request object (RFC 9101), pushed to the authorization
 * server (RFC 9126); the answer names the URL to send the browser to. Each adapter reports its own
 * upstream's time through the deadline (the secret and the client assertion are not the
 * authorization server's).
 */
export async function signAndPush(deps: PushDependencies, intent: Intent, deadline: Deadline): Promise<PushedLogin> {
  const { config, authorizationServer: server } = deps;
  const claims = requestObjectClaims(intent, {
    clientId: config.clientId,
    issuer: config.issuer,
    ttl: config.requestObjectTtl,
    now: deps.clock(),
  });
  const requestObject = await deps.signer.signJwt(claims, REQUEST_OBJECT_TYP, deadline);
  const pushed = await pushAuthorizationRequest(server, deps.clientAuthentication, config.clientId, requestObject, deadline);
  // RFC 9126 4: the browser carries only client_id and request_uri.
  const authorizationUrl = new URL(await server.endpoint('authorization', deadline));
  authorizationUrl.searchParams.set('client_id', config.clientId);
  authorizationUrl.searchParams.set('request_uri', pushed.requestUri);
  return {
    request_uri: pushed.requestUri,
    expires_in: pushed.expiresIn,
    authorization_url: authorizationUrl.href,
    issuer: config.issuer,
    authorization_response_iss_parameter_supported: await issParameterSupported(deps, deadline),
  };
}

/**
 * RFC 9207 3, as the discovery document already loaded for the endpoints says. With both endpoints
 * configured there is no document, and the answer is false rather than a fetch the operator chose
 * to avoid: a wrong true would refuse every login from a server that sends no iss, while false
 * still has every iss that is sent checked.
 */
export async function issParameterSupported(deps: Pick<PushDependencies, 'config' | 'authorizationServer'>, deadline: Deadline): Promise<boolean> {
  // FAPI 2.0 Security Profile requires RFC 9207 of the server, so a response without iss is refused.
  if (deps.config.fapi2 === true) return true;
  if (deps.config.parEndpoint !== undefined && deps.config.authorizationEndpoint !== undefined) return false;
  return (await deps.authorizationServer.metadata('authorization_response_iss_parameter_supported', deadline)) === true;
}
