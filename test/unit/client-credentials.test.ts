import { describe, expect, it } from 'vitest';
import { basicAuthorization } from '../../functions/adapters/client-authentication.ts';
import { parseClientSecret } from '../../functions/adapters/client-secret.ts';
import { ServerError } from '../../functions/core/errors.ts';

describe('client_secret_basic (RFC 6749 2.3.1)', () => {
  it('form-urlencodes the client id and secret before base64', () => {
    const header = basicAuthorization('client:id é', 'p@ss:w/rd+1 %');
    expect(header.startsWith('Basic ')).toBe(true);
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    // The separator is the only raw colon; each part decodes back to itself.
    expect(decoded).toBe('client%3Aid+%C3%A9:p%40ss%3Aw%2Frd%2B1+%25');
    const [id, secret] = decoded.split(':').map((part) => decodeURIComponent(part!.replace(/\+/g, ' ')));
    expect([id, secret]).toEqual(['client:id é', 'p@ss:w/rd+1 %']);
  });
});

describe('the client secret in Secrets Manager', () => {
  it('is the SecretString itself, or the client_secret field of a JSON SecretString', () => {
    expect(parseClientSecret('s3cr3t')).toBe('s3cr3t');
    expect(parseClientSecret(' s3cr3t\n')).toBe('s3cr3t');
    expect(parseClientSecret('{"client_secret":"from-json","other":1}')).toBe('from-json');
  });

  it.each([undefined, '', '{"clientSecret":"x"}', '{"client_secret":""}', '{not json', '{"client_secret":42}'])(
    'refuses %j with a server error that does not quote it',
    (value) => {
      let error: unknown;
      try {
        parseClientSecret(value);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ServerError);
      if (value) expect((error as ServerError).description).not.toContain(value);
    },
  );
});
