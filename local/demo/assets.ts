import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';
import type { ProviderInspection } from '../provider-inspection.ts';

/** The demo SPAs' pages and scripts, bundled from TypeScript once at start. */
type Assets = Record<string, { fetch: (request: Request) => Response }>;

const file = (name: string) => readFile(new URL(name, import.meta.url), 'utf8');

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [new URL(entry, import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

const asset = (body: string, type: string, headers: Record<string, string> = {}) => ({
  fetch: () => new Response(body, { headers: { 'content-type': `${type}; charset=utf-8`, ...headers } }),
});
const NO_STORE = { 'cache-control': 'no-store' };

/** A favicon, so the browser's request for one is not a 404 in the console. */
const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#1b1f24"/></svg>';

const json = (status: number, body: unknown) => Response.json(body, { status, headers: NO_STORE });

const decodePart = (part: string | undefined): unknown => JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));

/**
 * Local only, for the demo to show what the product never hands a browser: the request object the
 * proxy pushed server to server (decoded, signature left as it is), and which grants the token
 * endpoint saw (a refresh shows there). The product's routes are unchanged; these exist in local/.
 */
function inspectionRoutes(inspection: ProviderInspection | undefined): Assets {
  if (inspection === undefined) return {};
  return {
    '/demo/request-object': {
      fetch: (request) => {
        const requestUri = new URL(request.url).searchParams.get('request_uri') ?? '';
        const jwt = inspection.requestObject(requestUri);
        if (jwt === undefined) return json(404, { error: 'not_found', error_description: 'no request object was pushed for this request_uri lately' });
        const [header, claims] = jwt.split('.');
        return json(200, { header: decodePart(header), claims: decodePart(claims) });
      },
    },
    '/demo/token-requests': { fetch: () => json(200, { token_requests: inspection.tokenRequests() }) },
  };
}

/** The relay demo: its page at / and at the redirect URI /callback, where it redeems the code; told whether the proxy uses DPoP. */
export async function demoAssets(options: { readonly dpop?: boolean; readonly inspection?: ProviderInspection; readonly issuer?: string } = {}): Promise<Assets> {
  // The page reads the issuer's discovery document for its end-session endpoint (logout).
  const connect = options.issuer === undefined ? '' : `; connect-src 'self' ${new URL(options.issuer).origin}`;
  const html = (await file('./index.html'))
    .replace('<meta name="par-dpop" content="false">', `<meta name="par-dpop" content="${options.dpop === true}">`)
    .replace(`content="default-src 'self'"`, `content="default-src 'self'${connect}"`);
  const page = asset(html, 'text/html', NO_STORE);
  return {
    '/': page,
    '/callback': page,
    '/demo.js': asset(await bundle('./demo.ts'), 'text/javascript'),
    '/demo.css': asset(await file('./demo.css'), 'text/css'),
    '/favicon.svg': asset(FAVICON, 'image/svg+xml'),
    ...inspectionRoutes(options.inspection),
  };
}

/**
 * The bff demo: its page at / only. /callback is the proxy's own route there, as are /par,
 * /session, /logout and /api/..., all under the proxy's BASE_PATH, which the page is told.
 */
export async function bffDemoAssets(options: { readonly basePath?: string; readonly inspection?: ProviderInspection } = {}): Promise<Assets> {
  const basePath = (options.basePath ?? '').replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
  const html = (await file('./bff.html')).replace('<meta name="bff-base-path" content="">', `<meta name="bff-base-path" content="${basePath}">`);
  return {
    '/': asset(html, 'text/html', NO_STORE),
    '/bff-demo.js': asset(await bundle('./bff.ts'), 'text/javascript'),
    '/demo.css': asset(await file('./demo.css'), 'text/css'),
    '/favicon.svg': asset(FAVICON, 'image/svg+xml'),
    ...inspectionRoutes(options.inspection),
  };
}
