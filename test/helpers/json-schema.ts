/**
 * A small, strict validator for the subset of JSON Schema 2020-12 that docs/openapi/*.json uses
 * (no validator is installed, and valibot does not read JSON Schema). A keyword outside the subset
 * throws, so the documents cannot drift into schema this validator would silently pass.
 *
 * Assertions: type, properties, required, additionalProperties (false or a schema), enum, const,
 * items, oneOf, pattern, minLength, maxLength, minimum, maximum, minItems, maxItems, $ref (`#/...` within a document,
 * `other.json#/...` to a sibling document). Annotations (description, title, examples, format,
 * deprecated) are read and ignored.
 */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** The documents a $ref may point into, by file name ('' is the one being validated against). */
export type Documents = ReadonlyMap<string, unknown>;

const ANNOTATIONS = new Set(['description', 'title', 'examples', 'format', 'deprecated']);
const ASSERTIONS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'enum', 'const', 'items', 'oneOf',
  'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', '$ref',
]);
const TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);

/** Where a schema lives: its document's name, for resolving that document's own `#/...` refs. */
interface Scope {
  readonly documents: Documents;
  readonly document: string;
}

/** Every problem of `value` against `schema`, each as `path: reason`; empty when it is valid. */
export function validate(value: unknown, schema: JsonSchema, documents: Documents, document = ''): string[] {
  const problems: string[] = [];
  check(value, schema, { documents, document }, '$', problems);
  return problems;
}

/** Resolves `file.json#/a/b` or `#/a/b` (RFC 6901 pointer) to the schema and the document it lies in. */
export function resolveRef(ref: string, scope: Scope): { schema: unknown; document: string } {
  const at = ref.indexOf('#');
  const file = at === -1 ? ref : ref.slice(0, at);
  const document = file === '' ? scope.document : file;
  if (!scope.documents.has(document)) throw new Error(`$ref ${ref}: no document ${JSON.stringify(document)}`);
  let node: unknown = scope.documents.get(document);
  const pointer = at === -1 ? '' : ref.slice(at + 1);
  for (const raw of pointer.split('/').slice(1)) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) throw new Error(`$ref ${ref}: nothing at ${key}`);
    node = (node as Record<string, unknown>)[key];
  }
  return { schema: node, document };
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  if (type === 'integer') return Number.isInteger(value);
  if (type === 'number') return typeof value === 'number' && Number.isFinite(value);
  return typeOf(value) === type;
}

function check(value: unknown, schema: JsonSchema, scope: Scope, path: string, problems: string[]): void {
  if (schema === true) return;
  if (schema === false) {
    problems.push(`${path}: no value is allowed here`);
    return;
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new Error(`${path}: a schema must be an object or a boolean`);
  for (const keyword of Object.keys(schema)) {
    if (!ASSERTIONS.has(keyword) && !ANNOTATIONS.has(keyword)) throw new Error(`${path}: unsupported keyword ${keyword}`);
  }
  const s = schema as Record<string, unknown>;
  if (s.$ref !== undefined) {
    const { schema: target, document } = resolveRef(String(s.$ref), scope);
    check(value, target as JsonSchema, { ...scope, document }, path, problems);
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    for (const type of types) if (!TYPES.has(type)) throw new Error(`${path}: unknown type ${type}`);
    if (!types.some((type) => hasType(value, type))) {
      problems.push(`${path}: is ${typeOf(value)}, not ${types.join(' or ')}`);
      return;
    }
  }
  if (s.const !== undefined && JSON.stringify(value) !== JSON.stringify(s.const)) problems.push(`${path}: must be ${JSON.stringify(s.const)}`);
  if (s.enum !== undefined && !(s.enum as unknown[]).some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    problems.push(`${path}: must be one of ${JSON.stringify(s.enum)}`);
  }
  if (typeof value === 'string') checkString(value, s, path, problems);
  if (typeof value === 'number' && s.minimum !== undefined && value < (s.minimum as number)) problems.push(`${path}: must be at least ${String(s.minimum)}`);
  if (typeof value === 'number' && s.maximum !== undefined && value > (s.maximum as number)) problems.push(`${path}: must be at most ${String(s.maximum)}`);
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < (s.minItems as number)) problems.push(`${path}: must have at least ${String(s.minItems)} items`);
    if (s.maxItems !== undefined && value.length > (s.maxItems as number)) problems.push(`${path}: must have at most ${String(s.maxItems)} items`);
    if (s.items !== undefined) value.forEach((item, i) => check(item, s.items as JsonSchema, scope, `${path}[${i}]`, problems));
  }
  if (typeOf(value) === 'object') checkObject(value as Record<string, unknown>, s, scope, path, problems);
  if (s.oneOf !== undefined) {
    const matching = (s.oneOf as JsonSchema[]).filter((option) => {
      const found: string[] = [];
      check(value, option, scope, path, found);
      return found.length === 0;
    });
    if (matching.length !== 1) problems.push(`${path}: matches ${matching.length} of the oneOf schemas, not exactly one`);
  }
}

function checkString(value: string, s: Record<string, unknown>, path: string, problems: string[]): void {
  // JSON Schema counts code points, not UTF-16 units.
  const length = [...value].length;
  if (s.minLength !== undefined && length < (s.minLength as number)) problems.push(`${path}: shorter than ${String(s.minLength)}`);
  if (s.maxLength !== undefined && length > (s.maxLength as number)) problems.push(`${path}: longer than ${String(s.maxLength)}`);
  if (s.pattern !== undefined && !new RegExp(s.pattern as string, 'u').test(value)) problems.push(`${path}: does not match ${String(s.pattern)}`);
}

function checkObject(value: Record<string, unknown>, s: Record<string, unknown>, scope: Scope, path: string, problems: string[]): void {
  const properties = (s.properties ?? {}) as Record<string, JsonSchema>;
  for (const name of (s.required ?? []) as string[]) {
    if (!Object.hasOwn(value, name)) problems.push(`${path}: ${name} is required`);
  }
  for (const [name, member] of Object.entries(value)) {
    if (Object.hasOwn(properties, name)) check(member, properties[name]!, scope, `${path}.${name}`, problems);
    else if (s.additionalProperties === false) problems.push(`${path}: ${name} is not in the schema`);
    else if (s.additionalProperties !== undefined) check(member, s.additionalProperties as JsonSchema, scope, `${path}.${name}`, problems);
  }
}
