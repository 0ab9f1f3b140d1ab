import { describe, expect, it } from 'vitest';
import { validate, type JsonSchema } from '../helpers/json-schema.ts';

/** The test helper that checks the proxy's answers against docs/openapi/*.json (JSON Schema 2020-12, a subset). */
const none = new Map<string, unknown>();
const errors = (value: unknown, schema: JsonSchema, documents: Map<string, unknown> = none) => validate(value, schema, documents);

const OAUTH_ERROR = {
  type: 'object',
  required: ['error', 'error_description'],
  additionalProperties: false,
  properties: { error: { type: 'string', pattern: '^[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]+$' }, error_description: { type: 'string' } },
};

describe('json-schema (JSON Schema 2020-12 subset)', () => {
  it('accepts an object that has every required member and only listed ones', () => {
    expect(errors({ error: 'invalid_request', error_description: 'x' }, OAUTH_ERROR)).toEqual([]);
  });

  it('refuses a member the schema does not list when additionalProperties is false (6.2.6)', () => {
    expect(errors({ error: 'x', error_description: 'y', stack: 'at ...' }, OAUTH_ERROR)).toEqual(['$: stack is not in the schema']);
  });

  it('refuses a missing required member (6.5.3)', () => {
    expect(errors({ error: 'x' }, OAUTH_ERROR)).toEqual(['$: error_description is required']);
  });

  it('checks type, integer included, and a list of types (6.1.1)', () => {
    expect(errors(1.5, { type: 'integer' })).toHaveLength(1);
    expect(errors(2, { type: 'integer' })).toEqual([]);
    expect(errors(null, { type: ['string', 'null'] })).toEqual([]);
    expect(errors([], { type: 'object' })).toEqual(['$: is array, not object']);
  });

  it('checks const, enum, pattern, minLength and maxLength in code points, minimum, maximum, minItems, maxItems and items', () => {
    expect(errors('Bearer', { const: 'DPoP' })).toHaveLength(1);
    expect(errors('b', { enum: ['a', 'b'] })).toEqual([]);
    expect(errors('no', { type: 'string', pattern: '^[0-9]+$' })).toHaveLength(1);
    expect(errors('😀', { type: 'string', minLength: 1, maxLength: 1 })).toEqual([]);
    expect(errors('', { type: 'string', minLength: 1 })).toHaveLength(1);
    expect(errors(-1, { type: 'integer', minimum: 0 })).toHaveLength(1);
    expect(errors(3, { type: 'integer', maximum: 2 })).toHaveLength(1);
    expect(errors([], { type: 'array', minItems: 1 })).toHaveLength(1);
    expect(errors([1, 2], { type: 'array', maxItems: 1 })).toHaveLength(1);
    expect(errors([1, 'x'], { type: 'array', items: { type: 'integer' } })).toEqual(['$[1]: is string, not integer']);
  });

  it('oneOf needs exactly one match (10.2.1.3)', () => {
    const session = {
      oneOf: [
        { type: 'object', required: ['authenticated'], additionalProperties: false, properties: { authenticated: { const: false } } },
        { type: 'object', required: ['authenticated', 'claims'], additionalProperties: false, properties: { authenticated: { const: true }, claims: { type: 'object' } } },
      ],
    };
    expect(errors({ authenticated: false }, session)).toEqual([]);
    expect(errors({ authenticated: true }, session)).toHaveLength(1);
    expect(errors({ authenticated: false, claims: {} }, session)).toHaveLength(1);
    expect(errors('x', { oneOf: [{ type: 'string' }, { type: 'string' }] })).toHaveLength(1);
  });

  it('follows $ref within the document and into a sibling document, and names a ref that resolves to nothing', () => {
    const relay = { components: { schemas: { OAuthError: OAUTH_ERROR } } };
    const bff = { components: { schemas: { Refusal: { $ref: 'relay.json#/components/schemas/OAuthError' } } } };
    const documents = new Map<string, unknown>([['relay.json', relay], ['bff.json', bff]]);
    expect(validate({ error: 'x' }, { $ref: '#/components/schemas/Refusal' }, documents, 'bff.json')).toEqual(['$: error_description is required']);
    expect(() => validate({}, { $ref: '#/components/schemas/Missing' }, documents, 'bff.json')).toThrow(/nothing at Missing/);
  });

  it('throws on a keyword outside the subset, so the documents cannot use one it would ignore', () => {
    expect(() => errors({}, { type: 'object', patternProperties: {} })).toThrow(/unsupported keyword patternProperties/);
    expect(() => errors('x', { allOf: [] })).toThrow(/unsupported keyword allOf/);
  });
});
