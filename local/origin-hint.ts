import { ORIGIN_NOT_ALLOWED } from '../functions/app/http.ts';

/**
 * The local stack's answer to a refused Origin names the allowed one (issue 16). A new user who
 * opens the demo at http://127.0.0.1:3000 while the stack allows http://localhost:3000 gets a 403
 * from the Origin check, and "the Origin is not allowed" alone does not say which one is. Only here:
 * the functions' own refusal (functions/app/http.ts, what Lambda answers) names none, since it
 * would tell any caller which origins a deployment trusts.
 */
export async function withAllowedOrigin(answer: Response, allowedOrigins: readonly string[]): Promise<Response> {
  if (answer.status !== 403) return answer;
  const body = (await answer.clone().json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (body?.error_description !== ORIGIN_NOT_ALLOWED) return answer;
  const hint = `local stack: the allowed Origin is ${allowedOrigins.join(' or ')}: open the demo at ${allowedOrigins[0]}/`;
  const headers = new Headers(answer.headers);
  headers.delete('content-length');
  return new Response(JSON.stringify({ ...body, error_description: `${ORIGIN_NOT_ALLOWED} (${hint})` }), { status: 403, headers });
}
