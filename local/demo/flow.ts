/**
 * What the relay and bff demo pages share. Chiefly their account of a login, step by step: what the SPA sent, what the proxy pushed and
 * got back, the callback, and what came of it. Kept in sessionStorage so it survives the trip to
 * the authorization server; a new login or a logout starts it again. Tokens are shown shortened.
 */
export interface FlowStep {
  /** A stable name, for tests and for replacing a step: intent, pushed, request-object, ... */
  readonly id: string;
  readonly title: string;
  readonly note: string;
  readonly data?: unknown;
}

const FLOW_KEY = 'demo:flow';
/** Claims and fields that are seconds since the epoch: shown with the time beside them. */
const TIME_FIELDS = ['exp', 'iat', 'nbf', 'auth_time', 'expires_at', 'updated_at', 'at'];

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, attributes: Record<string, string> = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

/** Claims that are times (seconds since the epoch), shown readable. */
const TIME_CLAIMS = new Set(['exp', 'iat', 'auth_time', 'nbf', 'updated_at']);

export const readableTime = (seconds: number) => new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** The first and last few characters: enough to tell two tokens apart, not enough to use one. */
export function shorten(value: string): string {
  return value.length <= 16 ? value : `${value.slice(0, 6)}…${value.slice(-4)} (${value.length} characters)`;
}

/** A token response with every token shortened (RFC 6749 5.1). */
export function shortenTokens(tokens: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(tokens).map(([name, value]) => [name, /_token$/.test(name) && typeof value === 'string' ? shorten(value) : value]),
  );
}

/** JSON, two-space indented, each time field followed by its date as a comment. */
export function showJson(value: unknown): string {
  const times = new RegExp(`^(\\s*"(?:${TIME_FIELDS.join('|')})": )(\\d{9,11})(,?)$`);
  return (JSON.stringify(value, null, 2) ?? '')
    .split('\n')
    .map((line) => {
      const match = times.exec(line);
      return match === null ? line : `${line}   // ${readableTime(Number(match[2]))}`;
    })
    .join('\n');
}

export function readFlow(): FlowStep[] {
  try {
    const steps = JSON.parse(sessionStorage.getItem(FLOW_KEY) ?? '[]') as unknown;
    return Array.isArray(steps) ? (steps as FlowStep[]) : [];
  } catch {
    return [];
  }
}

/** Adds the step, or replaces the one of the same id (a second API call replaces the first). */
export function recordStep(step: FlowStep): void {
  const steps = readFlow().filter((existing) => existing.id !== step.id);
  sessionStorage.setItem(FLOW_KEY, JSON.stringify([...steps, step]));
}

export function clearFlow(): void {
  sessionStorage.removeItem(FLOW_KEY);
}

export function flowList(steps: readonly FlowStep[] = readFlow()): HTMLOListElement {
  const list = element('ol', undefined, { class: 'flow', 'aria-label': 'What happened' });
  // In the order of the flow, whichever order they were recorded in: titles start with their number.
  const ordered = [...steps].sort((a, b) => Number.parseInt(a.title, 10) - Number.parseInt(b.title, 10));
  for (const step of ordered) {
    const item = element('li', undefined, { 'data-step': step.id });
    item.append(element('h4', step.title), element('p', step.note, { class: 'muted' }));
    if (step.data !== undefined) item.append(element('pre', showJson(step.data)));
    list.append(item);
  }
  return list;
}

/** A button that is disabled while its action runs; a failure goes to `onError`. */
export function button(text: string, onClick: () => Promise<unknown>, onError: (error: unknown) => void, secondary = false): HTMLButtonElement {
  const node = element('button', text, { type: 'button', ...(secondary ? { class: 'secondary' } : {}) });
  node.addEventListener('click', () => {
    node.disabled = true;
    onClick()
      .catch(onError)
      .finally(() => (node.disabled = false));
  });
  return node;
}

/** The ID token's claims, times readable with the number beside them. */
export function claimsTable(claims: Readonly<Record<string, unknown>>): HTMLTableElement {
  const table = element('table', undefined, { 'aria-label': 'ID token claims' });
  for (const [name, value] of Object.entries(claims)) {
    const time = TIME_CLAIMS.has(name) && typeof value === 'number';
    const text = time ? `${readableTime(value)} (${value})` : typeof value === 'string' ? value : JSON.stringify(value);
    const row = element('tr');
    row.append(element('th', name), element('td', text, { 'data-claim': name, ...(time ? { 'data-value': String(value) } : {}) }));
    table.append(row);
  }
  return table;
}

/** Steps 1 to 3: the page's intent, the proxy's answer to POST /par, and the request object it pushed. */
export async function recordPush(intentNote: string, intent: unknown, response: Response, fetcher: typeof fetch = fetch): Promise<Record<string, unknown>> {
  const pushed = (await response.clone().json().catch(() => ({}))) as Record<string, unknown>;
  recordStep({ id: 'intent', title: '1. The intent: POST /par', note: intentNote, data: intent });
  recordStep({
    id: 'pushed',
    title: `2. The proxy's answer: ${response.status}, with the request_uri (RFC 9126 2.2)`,
    note: 'The proxy signed the request object and pushed it; the authorization server answered a one-time request_uri, which is all the browser carries to it.',
    data: pushed,
  });
  if (response.ok && typeof pushed.request_uri === 'string') await recordRequestObject(pushed.request_uri, String(pushed.issuer), fetcher);
  return pushed;
}

/** The request object the local authorization server received for this request_uri, decoded (local stack only). */
async function recordRequestObject(requestUri: string, issuer: string, fetcher: typeof fetch = fetch): Promise<void> {
  const answer = await fetcher(`/demo/request-object?request_uri=${encodeURIComponent(requestUri)}`, { cache: 'no-store' });
  if (!answer.ok) return;
  recordStep({
    id: 'request-object',
    title: '3. The signed request object (RFC 9101), as the authorization server received it',
    note: `The proxy built it from the intent, signed it with the KMS key the header's kid names and pushed it to ${issuer}'s PAR endpoint with the client's credentials. The browser never gets it: the local stack shows it here.`,
    data: await answer.json(),
  });
}

/** What the token endpoint saw lately (local stack only): a refresh shows as grant_type refresh_token. */
export async function tokenRequests(fetcher: typeof fetch = fetch): Promise<unknown> {
  const answer = await fetcher('/demo/token-requests', { cache: 'no-store' });
  return answer.ok ? ((await answer.json()) as { token_requests: unknown }).token_requests : undefined;
}
