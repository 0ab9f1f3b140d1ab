/**
 * The SPA's deep links (`/settings`, `/orders/42`) out of a private bucket: S3 has no such object and,
 * without s3:ListBucket for CloudFront, answers 403. A CloudFront Function on the SPA's behaviour only
 * (viewer request) serves index.html for every path whose last segment has no file extension, and
 * lets the router of the page take it from there. The proxy's routes are other behaviours: their own
 * 403s and 404s reach the browser as the functions sent them, which distribution-wide custom error
 * responses would rewrite.
 *
 * The code is what CloudFront runs (runtime cloudfront-js-2.0), kept as text so the test evaluates
 * exactly it. The query string is a separate field of the event (`request.querystring`), untouched.
 */
export const SPA_ROUTES_CODE = `function handler(event) {
  var request = event.request;
  // A file (app.js, favicon.ico, .well-known/x.json) is served as it is; any other path is a route of the page.
  if (!/\\.[^./]+$/.test(request.uri)) request.uri = '/index.html';
  return request;
}
`;
