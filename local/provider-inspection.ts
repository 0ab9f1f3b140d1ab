import type Provider from 'oidc-provider';

/**
 * What the local demo shows of the authorization server's side, and its pages made to work
 * offline. Local stack only: a real deployment's authorization server shows nobody its pushed
 * requests, and nothing under functions/ reaches this.
 */
export interface TokenRequestRecord {
  /** RFC 6749 4.1.3 / 6: authorization_code or refresh_token. */
  readonly grant_type: string;
  readonly status: number;
  /** Seconds since the epoch. */
  readonly at: number;
}

export interface ProviderInspection {
  /** The signed request object (RFC 9101) pushed for this request_uri (RFC 9126 2.2), if one of the last few. */
  requestObject(requestUri: string): string | undefined;
  /** The token endpoint's last calls, newest last: grant type and status, never a token or a code. */
  tokenRequests(): readonly TokenRequestRecord[];
}

/** Enough for a demo's few logins; the oldest go first, so a long run holds no more. */
const KEEP = 20;

function keepLast<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > KEEP) list.splice(0, list.length - KEEP);
}

/**
 * oidc-provider's development login, consent and logout pages import Roboto from Google Fonts: a
 * local login that needs the internet, and a request to a third party on every page. The import
 * is dropped; the pages fall back to the system's sans-serif.
 */
const WEB_FONT_IMPORT = /@import url\(https:\/\/fonts\.googleapis\.com\/[^)]*\);?/g;

export function inspectProvider(provider: Provider): ProviderInspection {
  const pushed: Array<{ requestUri: string; request: string }> = [];
  const tokens: TokenRequestRecord[] = [];
  provider.use(async (ctx, next) => {
    await next();
    if (typeof ctx.body === 'string' && ctx.body.includes('fonts.googleapis.com')) {
      // And an empty icon: else the browser asks for /favicon.ico, a 404 in the console.
      ctx.body = ctx.body.replace(WEB_FONT_IMPORT, '').replace(/<head>/i, '<head><link rel="icon" href="data:,">');
    }
    const route = ctx.oidc?.route;
    if (route === 'pushed_authorization_request' && ctx.status === 201) {
      const request = (ctx.oidc.body as { request?: unknown } | undefined)?.request;
      const requestUri = (ctx.body as { request_uri?: unknown } | undefined)?.request_uri;
      if (typeof request === 'string' && typeof requestUri === 'string') keepLast(pushed, { requestUri, request });
    }
    if (route === 'token') {
      const grantType = (ctx.oidc.params as { grant_type?: unknown } | undefined)?.grant_type;
      keepLast(tokens, { grant_type: typeof grantType === 'string' ? grantType : '', status: ctx.status, at: Math.floor(Date.now() / 1000) });
    }
  });
  return {
    requestObject: (requestUri) => pushed.find((entry) => entry.requestUri === requestUri)?.request,
    tokenRequests: () => [...tokens],
  };
}
