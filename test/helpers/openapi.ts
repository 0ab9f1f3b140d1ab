import { readFileSync } from 'node:fs';
import { API_METHODS } from '../../functions/core/api-path.ts';
import { functionsFor, type Mode } from '../../functions/manifest.ts';
import { resolveRef, validate, type Documents, type JsonSchema } from './json-schema.ts';

/**
 * docs/openapi/{relay,bff}.json read for the tests: the operations each documents, the ones
 * functions/manifest.ts declares, and a real answer checked against its documented response
 * (status, headers, media type, JSON body).
 */
export const DOCUMENTS: Documents = new Map(
  (['relay', 'bff'] as const).map((mode) => [`${mode}.json`, JSON.parse(readFileSync(new URL(`../../docs/openapi/${mode}.json`, import.meta.url), 'utf8')) as unknown]),
);

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
type Node = Record<string, unknown>;

/** A node with its $ref followed (chains too), and the document it was found in. */
export function deref(node: unknown, document: string): { node: Node; document: string } {
  let current = { schema: node, document };
  for (let hops = 0; hops < 8; hops += 1) {
    const ref = (current.schema as Node).$ref;
    if (typeof ref !== 'string') return { node: current.schema as Node, document: current.document };
    // A Path Item's siblings of $ref (servers) stay with the referencing object.
    const { $ref: _ref, ...siblings } = current.schema as Node;
    const target = resolveRef(ref, { documents: DOCUMENTS, document: current.document });
    current = { schema: { ...(target.schema as Node), ...siblings }, document: target.document };
  }
  throw new Error('a $ref chain longer than 8');
}

/** components.schemas[name] of a document. */
export function componentSchema(document: string, name: string): Node {
  return ((DOCUMENTS.get(document) as { components: { schemas: Record<string, Node> } }).components.schemas[name])!;
}

const documentName = (mode: Mode) => `${mode}.json`;

/** The path item of `path` in the mode's document, $ref followed. */
export function pathItem(mode: Mode, path: string): { node: Node; document: string } | undefined {
  const paths = (DOCUMENTS.get(documentName(mode)) as Node).paths as Node;
  return Object.hasOwn(paths, path) ? deref(paths[path], documentName(mode)) : undefined;
}

/** `METHOD path` of every operation the mode's document has (OPTIONS not among them: preflights are CORS's). */
export function documentedOperations(mode: Mode): string[] {
  const paths = (DOCUMENTS.get(documentName(mode)) as Node).paths as Node;
  return Object.keys(paths).flatMap((path) => {
    const { node } = pathItem(mode, path)!;
    return HTTP_METHODS.filter((method) => Object.hasOwn(node, method)).map((method) => `${method.toUpperCase()} ${path}`);
  });
}

/** The manifest's routes as the document spells them: ANY is each of API_METHODS, `{proxy+}` is `{proxy}`. */
export function manifestOperations(mode: Mode): Array<{ operation: string; path: string; underBasePath: boolean }> {
  return functionsFor(mode).flatMap((fn) =>
    fn.routes.flatMap((route) => {
      const path = route.path.replace('{proxy+}', '{proxy}');
      const methods: readonly string[] = route.method === 'ANY' ? API_METHODS : [route.method];
      return methods.map((method) => ({ operation: `${method} ${path}`, path, underBasePath: 'underBasePath' in fn && fn.underBasePath === true }));
    }),
  );
}

/** Every $ref of both documents that points at nothing. */
export function brokenRefs(): string[] {
  const broken: string[] = [];
  const walk = (node: unknown, document: string, at: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const ref = (node as Node).$ref;
    if (typeof ref === 'string') {
      try {
        resolveRef(ref, { documents: DOCUMENTS, document });
      } catch (error) {
        broken.push(`${document} ${at}: ${(error as Error).message}`);
      }
    }
    for (const [key, value] of Object.entries(node)) walk(value, document, `${at}/${key}`);
  };
  for (const [name, document] of DOCUMENTS) walk(document, name, '#');
  return broken;
}

/** `mode METHOD path status` of every answer checked so far, and the shared response objects (`relay.json#/components/responses/X`) they used. */
export const EXERCISED = new Set<string>();

/** The shared response object `mode METHOD path status` refers to, as `document#pointer`; undefined for an inline one. */
export function sharedResponse(mode: Mode, method: string, path: string, status: string): string | undefined {
  const item = pathItem(mode, path)!;
  const ref = ((item.node[method.toLowerCase()] as { responses: Record<string, { $ref?: string }> }).responses[status]!).$ref;
  return ref === undefined ? undefined : ref.startsWith('#') ? `${item.document}${ref}` : ref;
}

/** `mode METHOD path status` of every documented response. */
export function documentedResponses(mode: Mode): string[] {
  return documentedOperations(mode).flatMap((operation) => {
    const [method, path] = operation.split(' ') as [string, string];
    const responses = pathItem(mode, path)!.node[method.toLowerCase()] as { responses: object };
    return Object.keys(responses.responses).map((status) => `${mode} ${operation} ${status}`);
  });
}

export interface RealAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * Every way `answer` differs from what the document says `method path` answers with its status:
 * an undocumented status, a required header missing, a header or the JSON body outside its schema
 * (a member the schema does not list included), another media type, a body where none is documented.
 * `useDefault`: the answer is the upstream API's own, passed through (the `default` response).
 */
export function answerProblems(mode: Mode, method: string, path: string, answer: RealAnswer, useDefault = false): string[] {
  const key = useDefault ? 'default' : String(answer.status);
  const item = pathItem(mode, path);
  if (item === undefined) return [`${path} is not documented`];
  const operation = item.node[method.toLowerCase()] as Node | undefined;
  if (operation === undefined) return [`${method} ${path} is not documented`];
  const responses = operation.responses as Node;
  if (!Object.hasOwn(responses, key)) return [`${method} ${path} answered ${answer.status}, which is not documented`];
  EXERCISED.add(`${mode} ${method.toUpperCase()} ${path} ${key}`);
  const shared = sharedResponse(mode, method, path, key);
  if (shared !== undefined) EXERCISED.add(shared);
  const { node: response, document } = deref(responses[key], item.document);
  const problems: string[] = [];
  for (const [name, raw] of Object.entries((response.headers ?? {}) as Node)) {
    const { node: header, document: headerDocument } = deref(raw, document);
    const values = name.toLowerCase() === 'set-cookie' ? answer.headers.getSetCookie() : [answer.headers.get(name)].filter((value) => value !== null);
    if (values.length === 0 && header.required === true) problems.push(`header ${name} is missing`);
    for (const value of values) problems.push(...validate(value, header.schema as JsonSchema, DOCUMENTS, headerDocument).map((p) => `header ${name}: ${p}`));
  }
  if (useDefault) return problems;
  const content = response.content as Node | undefined;
  if (content === undefined) {
    if (answer.text !== '') problems.push(`a body where none is documented: ${answer.text.slice(0, 80)}`);
    return problems;
  }
  const mediaType = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!Object.hasOwn(content, mediaType)) return [...problems, `content type ${mediaType} is not documented (${Object.keys(content).join(', ')})`];
  const schema = (content[mediaType] as Node).schema as JsonSchema;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return [...problems, `the body is not JSON: ${answer.text.slice(0, 80)}`];
  }
  return [...problems, ...validate(body, schema, DOCUMENTS, document)];
}

/** The request body schema of `method path` for `mediaType`: what the test's own requests must satisfy. */
export function requestProblems(mode: Mode, method: string, path: string, body: unknown, mediaType = 'application/json'): string[] {
  const item = pathItem(mode, path)!;
  const operation = item.node[method.toLowerCase()] as Node;
  const { node: requestBody, document } = deref(operation.requestBody, item.document);
  const media = (requestBody.content as Node)[mediaType] as Node | undefined;
  if (media === undefined) return [`${method} ${path} documents no ${mediaType} body`];
  return validate(body, media.schema as JsonSchema, DOCUMENTS, document);
}
