import http from 'node:http';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { FAPI2_SIGNED_RESPONSES, fapi2Client, fapi2Configuration, type LocalProfile } from './fapi2.ts';
import { inspectProvider, type ProviderInspection } from './provider-inspection.ts';

/**
 * A real OpenID Provider (panva's oidc-provider) on loopback, configured as a regulated
 * authorization server: PAR required, signed request objects required, PKCE required. Its
 * development login screens take any user name. Local stack and tests only.
 */
export interface LocalClient {
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly authMethod: 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt';
  readonly redirectUris: readonly string[];
  /** The proxy's public keys, registered inline... */
  readonly jwks?: { keys: object[] };
  /** ...or read from the proxy's JWKS endpoint. */
  readonly jwksUri?: string;
  readonly requestObjectAlg: 'PS256' | 'RS256' | 'RS384';
  /** OpenID Connect RP-Initiated Logout 1.0 3.1: where the end-session endpoint may send the user back. */
  readonly postLogoutRedirectUris?: readonly string[];
  /** OpenID Connect Back-Channel Logout 1.0 2.2: where logout tokens are POSTed (sid required in them). */
  readonly backchannelLogoutUri?: string;
}

export interface LocalAuthorizationServerOptions {
  readonly clients: readonly LocalClient[];
  /** Port to listen on (0: any free one). */
  readonly port?: number;
  /** Host name in the issuer: 127.0.0.1 for tests, localhost for a browser. */
  readonly host?: string;
  /** RFC 9396 types accepted in authorization_details; rich authorization requests are off without. */
  readonly authorizationDetailsTypes?: readonly string[];
  /** RFC 7009 token revocation (off by default, as in oidc-provider). */
  readonly revocation?: boolean;
  /** Seconds an access token lives (600 by default): short, to see refreshes. */
  readonly accessTokenTtl?: number;
  /**
   * Issue a refresh token with every code, as Auth0 does for a confidential client with offline
   * access allowed; by default oidc-provider's rule (offline_access with prompt=consent).
   */
  readonly alwaysIssueRefreshTokens?: boolean;
  /**
   * DPoP (RFC 9449): the clients are registered with `dpop_bound_access_tokens`, so every code and
   * refresh grant needs a proof, and the server's nonce is required (section 8). Off by default.
   */
  readonly dpop?: boolean;
  /**
   * `fapi2`: a FAPI 2.0 authorization server (Security Profile and Message Signing; local/fapi2.ts).
   * Independent of `dpop`, which a FAPI 2.0 deployment also turns on (npm start does both).
   */
  readonly profile?: LocalProfile;
  /** A new refresh token with every refresh grant, the presented one spent; reusing it revokes the grant. */
  readonly rotateRefreshTokens?: boolean;
}

export interface LocalAuthorizationServer {
  readonly issuer: string;
  readonly provider: Provider;
  /**
   * With `dpop`: a client for the local resource server, allowed only RFC 7662 introspection (a
   * DPoP-bound token's userinfo needs the holder's proof, so a resource server introspects it). It
   * authenticates with private_key_jwt (PS256): the one method a FAPI 2.0 server allows, and so the
   * same under either profile.
   */
  readonly introspectionClient?: LocalIntrospectionClient;
  /** What the local demo shows of this server's side: pushed request objects, token requests. */
  readonly inspection: ProviderInspection;
  close(): Promise<void>;
}

export interface LocalIntrospectionClient {
  readonly clientId: string;
  /** Signs the client assertions (PS256, RFC 7523); its public half is registered inline. */
  readonly privateKey: KeyObject;
}

function introspectionClientMetadata(client: LocalIntrospectionClient, profile: LocalProfile | undefined): ClientMetadata {
  const { n, e } = client.privateKey.export({ format: 'jwk' });
  return {
    client_id: client.clientId,
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'PS256',
    jwks: { keys: [{ kty: 'RSA', n, e, alg: 'PS256', use: 'sig' }] },
    // It gets no ID token nor authorization response, but a FAPI 2.0 server checks the algorithms of every client.
    ...(profile === 'fapi2' ? FAPI2_SIGNED_RESPONSES : {}),
    redirect_uris: [],
    grant_types: [],
    response_types: [],
  };
}

function clientMetadata(client: LocalClient): ClientMetadata {
  return {
    client_id: client.clientId,
    ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
    token_endpoint_auth_method: client.authMethod,
    ...(client.authMethod === 'private_key_jwt' ? { token_endpoint_auth_signing_alg: client.requestObjectAlg } : {}),
    redirect_uris: [...client.redirectUris],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...(client.jwksUri === undefined ? { jwks: client.jwks } : { jwks_uri: client.jwksUri }),
    request_object_signing_alg: client.requestObjectAlg,
    require_signed_request_object: true,
    require_pushed_authorization_requests: true,
    ...(client.postLogoutRedirectUris === undefined ? {} : { post_logout_redirect_uris: [...client.postLogoutRedirectUris] }),
    ...(client.backchannelLogoutUri === undefined ? {} : { backchannel_logout_uri: client.backchannelLogoutUri, backchannel_logout_session_required: true }),
  };
}

export async function startLocalAuthorizationServer(
  options: LocalAuthorizationServerOptions,
): Promise<LocalAuthorizationServer> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const idTokenKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const idTokenAlg = options.profile === 'fapi2' ? 'PS256' : 'RS256';
  const introspectionClient =
    options.dpop === true ? { clientId: 'local-resource-server', privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey } : undefined;

  const configuration: Configuration = {
    clients: options.clients.map((client) => ({
      ...clientMetadata(client),
      ...(options.dpop === true ? { dpop_bound_access_tokens: true } : {}),
      ...(options.profile === 'fapi2' ? fapi2Client(client) : {}),
      ...(options.authorizationDetailsTypes?.length ? { authorization_details_types: [...options.authorizationDetailsTypes] } : {}),
    })).concat(introspectionClient === undefined ? [] : [introspectionClientMetadata(introspectionClient, options.profile)]),
    jwks: { keys: [{ ...idTokenKey, kid: 'local-id-token', alg: idTokenAlg, use: 'sig' }] as never },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, name: sub, email: `${sub}@example.test` }),
    }),
    clientAuthMethods: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    enabledJWA: {
      requestObjectSigningAlgValues: ['PS256', 'RS256', 'RS384'],
      clientAuthSigningAlgValues: ['PS256', 'RS256', 'RS384'],
    },
    pkce: { required: () => true },
    // oidc-provider refuses to fetch special-use addresses (SSRF protection); here the client's
    // jwks_uri is the proxy on loopback by design, so its dispatcher is left out.
    fetch: (url, init) => globalThis.fetch(url, { ...init, dispatcher: undefined } as RequestInit),
    features: {
      devInteractions: { enabled: true },
      ...(options.clients.some((client) => client.backchannelLogoutUri !== undefined) ? { backchannelLogout: { enabled: true } } : {}),
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
      requestObjects: { enabled: true, requireSignedRequestObject: true },
      ...(options.dpop === true
        ? {
            dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
            introspection: { enabled: true, allowedPolicy: async (_ctx: unknown, client: { clientId: string }) => client.clientId === introspectionClient?.clientId } as never,
          }
        : {}),
      ...richAuthorizationRequests(options.authorizationDetailsTypes ?? []),
      // A client revokes only its own tokens (the default policy says as much, with a warning).
      ...(options.revocation === true
        ? { revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId } }
        : {}),
    },
    // The local client is first-party: the consent screen is skipped by granting what it asked for.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope(String(ctx.oidc.params?.scope ?? 'openid'));
      if (ctx.oidc.params?.authorization_details !== undefined) grant.addResourceScope(LOCAL_RESOURCE, '');
      await grant.save();
      return grant;
    },
    // oidc-provider's default rotates only public clients' (and aging) refresh tokens.
    ...(options.rotateRefreshTokens === true ? { rotateRefreshToken: () => true } : {}),
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && (options.alwaysIssueRefreshTokens === true || code.scopes.has('offline_access')),
    ttl: { AccessToken: options.accessTokenTtl ?? 600, AuthorizationCode: 60, IdToken: 600, RefreshToken: 3600, Session: 3600, Interaction: 600, Grant: 3600 },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Error</title><h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(String(out.error_description ?? ''))}</p>`;
    },
  };
  const provider = new Provider(issuer, options.profile === 'fapi2' ? fapi2Configuration(configuration) : configuration);
  // The dev interactions warn about their use on every start; they are the point here.
  provider.on('server_error', () => {});
  const inspection = inspectProvider(provider);
  server.on('request', provider.callback());
  return {
    issuer,
    provider,
    inspection,
    ...(introspectionClient === undefined ? {} : { introspectionClient }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The resource server that access tokens with authorization details are for. */
export const LOCAL_RESOURCE = 'https://api.example.test/';

/**
 * RFC 9396, with the local policy of granting exactly the details that were asked for. oidc-provider
 * needs a resource indicator (RFC 8707) with them: one default resource server.
 */
function richAuthorizationRequests(types: readonly string[]): Configuration['features'] {
  if (types.length === 0) return {};
  return {
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => LOCAL_RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({ scope: '', accessTokenFormat: 'opaque' }),
    },
    richAuthorizationRequests: {
      enabled: true,
      types: Object.fromEntries(types.map((type) => [type, { validate: () => undefined }])),
      // Exactly what this authorization request asked for.
      authorizationDetailsForGrantSource: async (ctx: KoaContextWithOIDC) =>
        JSON.parse(String(ctx.oidc.params?.authorization_details ?? '[]')) as object[],
      authorizationDetailsForAccessToken: async (_ctx: unknown, _token: unknown, source?: { rar?: object[] }) => source?.rar ?? [],
      authorizationDetailsForIntrospection: async (_ctx: unknown, token: { rar?: object[] }) => token.rar ?? [],
    } as never,
  };
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
