/**
 * Sites, as browsers scope SameSite cookies (the scheme and the registrable domain): whether the
 * bff's cookie host and the SPA's origin are one site, so that the session cookie is first-party.
 *
 * Without the Public Suffix List the registrable domain is approximated: the last two labels, three
 * under a country code's generic second level (`example.co.uk`), and the whole host under the AWS
 * names that are public suffixes themselves (every execute-api or cloudfront.net host is its own
 * site). An unknown multi-label suffix errs towards "same site": the check refuses only what is
 * surely cross-site, and never a deployment that works.
 */

/** Per-customer hosts of AWS services: on the Public Suffix List, so no two of them share a site. */
const OWN_SITE_SUFFIXES = ['amazonaws.com', 'cloudfront.net', 'amplifyapp.com', 'on.aws'];
const GENERIC_SECOND_LEVEL = /^(ac|co|com|edu|gov|net|org|or|ne|go)$/;

export function siteOf(url: string): string {
  const { protocol, hostname } = new URL(url);
  const labels = hostname.split('.');
  const ownSite = OWN_SITE_SUFFIXES.some((suffix) => hostname.endsWith(`.${suffix}`));
  // IP literals and single-label hosts (localhost) are their own site.
  if (ownSite || labels.length < 3 || /^[\d.]+$|^\[/.test(hostname)) return `${protocol}//${hostname}`;
  const underCountryCode = labels.at(-1)!.length === 2 && GENERIC_SECOND_LEVEL.test(labels.at(-2)!);
  return `${protocol}//${labels.slice(underCountryCode ? -3 : -2).join('.')}`;
}

export function sameSite(a: string, b: string): boolean {
  return siteOf(a) === siteOf(b);
}
