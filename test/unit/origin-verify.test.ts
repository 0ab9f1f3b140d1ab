import { describe, expect, it } from 'vitest';
import { originDigest, verifyOrigin } from '../../functions/core/origin-verify.ts';

/** The pure check behind the edge's origin secret (functions/core/origin-verify.ts): digests compared in constant time. */
const CURRENT = 'current-origin-secret-0123456789abcdefghij';
const PREVIOUS = 'previous-origin-secret-0123456789abcdefghij';
const accepted = [originDigest(CURRENT), originDigest(PREVIOUS)];

describe('verifyOrigin', () => {
  it('accepts the current and the previous value, exactly', () => {
    expect(verifyOrigin(CURRENT, accepted)).toBe('verified');
    expect(verifyOrigin(PREVIOUS, accepted)).toBe('verified');
    expect(verifyOrigin(CURRENT, [originDigest(CURRENT)])).toBe('verified');
  });

  it.each([
    ['a prefix', CURRENT.slice(0, -1)],
    ['a longer value', `${CURRENT}x`],
    ['another case', CURRENT.toUpperCase()],
    ['surrounding space', ` ${CURRENT}`],
    ['one character', 'x'],
    ['a long value', 'x'.repeat(10_000)],
  ])('refuses %s as a mismatch, whatever its length', (_name, presented) => {
    expect(verifyOrigin(presented, accepted)).toBe('mismatch');
  });

  it('says missing for no header or an empty one, and refuses everything when nothing is accepted', () => {
    expect(verifyOrigin(undefined, accepted)).toBe('missing');
    expect(verifyOrigin('', accepted)).toBe('missing');
    expect(verifyOrigin(CURRENT, [])).toBe('mismatch');
  });
});
