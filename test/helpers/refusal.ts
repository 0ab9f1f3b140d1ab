import { expect } from 'vitest';
import type { OAuthError } from '../../functions/core/errors.ts';

/** The error `promise` rejects with; fails the test when it resolves. */
export async function refusal(promise: Promise<unknown>): Promise<OAuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'refused').toBeInstanceOf(Error);
  return error as OAuthError;
}
