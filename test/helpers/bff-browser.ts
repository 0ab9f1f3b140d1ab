import http from 'node:http';
import { logIn } from './browser-session.ts';

/**
 * A browser as far as the bff mode is concerned, without a browser: a cookie jar for the proxy's
 * origin that honours Max-Age (0 deletes) and keeps each cookie's attributes for assertions, and the
 * SPA's calls (`X-CSRF: 1`, the page's Origin). The login at oidc-provider is browser-session.ts's.
 * 127.0.0.1 and localhost only; every request has a timeout.
 */
export interface StoredCookie {
  readonly name: string;
  readonly value: string;
  /** Lower-cased attribute names, with their values ('' for flags). */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface BffAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The JSON body, or undefined. */
  readonly json: Record<string, unknown> | undefined;
  readonly setCookies: readonly string[];
}

export class BffBrowser {
  readonly cookies = new Map<string, StoredCookie>();

  constructor(
    /** The SPA's origin, which is also the proxy's (same-origin deployment). */
    readonly origin: string,
    readonly basePath = '',
    /** Told every cookie value and authorization code this browser sees: a leak collector's secrets. */
    private readonly observe: (secret: string) => void = () => {},
  ) {}

  cookieHeader(): string {
    return [...this.cookies.values()].map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
  }

  take(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair, ...rest] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const attributes = Object.fromEntries(
        rest.map((part) => {
          const eq = part.indexOf('=');
          return eq === -1 ? [part.trim().toLowerCase(), ''] : [part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim()];
        }),
      );
      const value = pair!.slice(at + 1);
      if (value.length >= 16) this.observe(value);
      if (attributes['max-age'] === '0') this.cookies.delete(name);
      else this.cookies.set(name, { name, value, attributes });
    }
  }

  /** A request as the browser sends it: cookies attached, no redirect followed. */
  async request(path: string, init: { method?: string; headers?: Record<string, string>; body?: string; js?: boolean } = {}): Promise<BffAnswer> {
    const js = init.js ?? true;
    const response = await fetch(new URL(path, this.origin), {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        ...(this.cookies.size > 0 ? { cookie: this.cookieHeader() } : {}),
        ...(js ? { 'x-csrf': '1', origin: this.origin } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: AbortSignal.timeout(10_000),
    });
    const setCookies = response.headers.getSetCookie();
    this.take(setCookies);
    const text = await response.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json, setCookies };
  }

  /**
   * A GET with its request target exactly as given (`..`, `%2e`, backslashes): fetch and browsers
   * normalise the URL first, an attacker's client need not. The SPA's headers and this jar's cookies.
   */
  rawGet(target: string): Promise<{ status: number; json: Record<string, unknown> | undefined }> {
    const origin = new URL(this.origin);
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: origin.hostname, port: origin.port, path: target, method: 'GET', headers: { cookie: this.cookieHeader(), 'x-csrf': '1', origin: this.origin }, timeout: 10_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            let json: Record<string, unknown> | undefined;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  /** POST /par as the SPA makes it; the answer's authorization_url is where the browser goes next. */
  startLogin(intent: Record<string, unknown> = { scope: 'openid profile' }): Promise<BffAnswer> {
    return this.request(`${this.basePath}/par`, { method: 'POST', body: JSON.stringify(intent) });
  }

  /** The login at the authorization server, up to its redirect to the proxy's /callback (not followed). */
  async authorize(authorizationUrl: string, user = 'katherine.johnson'): Promise<URL> {
    const callback = await logIn(authorizationUrl, new URL(`${this.basePath}/callback`, this.origin).href, user);
    const code = callback.searchParams.get('code');
    if (code !== null) this.observe(code);
    return callback;
  }

  /** The navigation to /callback: a 303 whose Location is where the SPA is sent. */
  async callback(callbackUrl: URL): Promise<BffAnswer> {
    return this.request(`${callbackUrl.pathname}${callbackUrl.search}`, { js: false });
  }

  /** The whole login: /par, the authorization server, /callback. Throws with the failing step. */
  async login(intent?: Record<string, unknown>, user?: string): Promise<BffAnswer> {
    const started = await this.startLogin(intent);
    if (started.status !== 201) throw new Error(`/par answered ${started.status}: ${started.text}`);
    const callback = await this.callback(await this.authorize(String(started.json?.authorization_url), user));
    if (callback.status !== 303) throw new Error(`/callback answered ${callback.status}: ${callback.text}`);
    return callback;
  }
}
