/**
 * Follows an authorization_url the way a browser would, far enough to reach the login page:
 * redirects followed by hand with cookies kept, 127.0.0.1 only.
 */
export async function openLoginPage(authorizationUrl: string): Promise<{ status: number; url: string; html: string }> {
  const cookies = new Map<string, string>();
  let url = authorizationUrl;
  for (let hop = 0; hop < 5; hop += 1) {
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
      signal: AbortSignal.timeout(5000),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, value] = pair!.split('=');
      cookies.set(name!, value ?? '');
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      url = new URL(location, url).href;
      continue;
    }
    return { status: response.status, url, html: await response.text() };
  }
  throw new Error('too many redirects');
}
