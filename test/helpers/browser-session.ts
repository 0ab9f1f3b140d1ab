/**
 * Follows an authorization_url the way a browser would, without a browser: redirects followed by
 * hand with cookies kept, the development login and consent forms of oidc-provider submitted.
 * 127.0.0.1 and localhost only.
 */
interface Step {
  readonly status: number;
  readonly url: string;
  readonly location?: string;
  readonly html: string;
}

class CookieJar {
  private readonly cookies = new Map<string, string>();
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  take(response: Response): void {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const index = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, index), pair!.slice(index + 1));
    }
  }
}

async function step(jar: CookieJar, url: string, form?: URLSearchParams): Promise<Step> {
  const response = await fetch(url, {
    method: form === undefined ? 'GET' : 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(), ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
    ...(form === undefined ? {} : { body: form.toString() }),
    signal: AbortSignal.timeout(5000),
  });
  jar.take(response);
  const location = response.headers.get('location');
  return { status: response.status, url, html: await response.text(), ...(location === null ? {} : { location: new URL(location, url).href }) };
}

/** Follows redirects from `url` until a page is shown or `stopAt` is reached. */
async function follow(jar: CookieJar, first: Step, stopAt?: string): Promise<Step> {
  let current = first;
  for (let hop = 0; hop < 10 && current.location !== undefined; hop += 1) {
    if (stopAt !== undefined && current.location.startsWith(stopAt)) return current;
    current = await step(jar, current.location);
  }
  return current;
}

export async function openLoginPage(authorizationUrl: string): Promise<Step> {
  const jar = new CookieJar();
  return follow(jar, await step(jar, authorizationUrl));
}

function formOf(html: string): { action: string; fields: URLSearchParams } | undefined {
  const form = /<form[^>]*action="([^"]+)"[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (form === null) return undefined;
  const fields = new URLSearchParams();
  for (const input of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) {
    fields.set(input[1]!, input[2]!);
  }
  return { action: form[1]!.replace(/&amp;/g, '&'), fields };
}

/**
 * Logs `login` in at oidc-provider's development screens and returns the redirect back to
 * `redirectUri`, with its code and state.
 */
export async function logIn(authorizationUrl: string, redirectUri: string, login: string): Promise<URL> {
  const jar = new CookieJar();
  let page = await follow(jar, await step(jar, authorizationUrl), redirectUri);
  for (let screen = 0; screen < 4; screen += 1) {
    if (page.location?.startsWith(redirectUri)) return new URL(page.location);
    const form = formOf(page.html);
    if (form === undefined) throw new Error(`no form on ${page.url} (${page.status}): ${page.html.slice(0, 300)}`);
    if (/name="login"/.test(page.html)) {
      form.fields.set('login', login);
      form.fields.set('password', 'any');
    }
    page = await follow(jar, await step(jar, new URL(form.action, page.url).href, form.fields), redirectUri);
  }
  throw new Error('the login did not come back to the redirect URI');
}
