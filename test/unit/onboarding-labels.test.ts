import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelsAllowed } from '../../shared/core/onboarding-token.js';

// Keys an attacker may name, whose plain lookup on {} is not undefined.
const BUILT_IN = Object.getOwnPropertyNames(Object.prototype);

describe('labelsAllowed', () => {
  it('allows labels the group or task gives, with the same value', () => {
    expect(labelsAllowed({ version: 'v1' }, { app: 'ratings', version: 'v1' })).toBeUndefined();
    expect(labelsAllowed({ version: 'v2' }, { version: 'v1' })).toMatch(/version=v2/);
  });

  it('agrees with a Map-based reference for any keys, built-in names included', () => {
    const key = fc.oneof(fc.constantFrom(...BUILT_IN), fc.string({ minLength: 1, maxLength: 8 }));
    const labels = fc.array(fc.tuple(key, fc.constantFrom('a', 'b')), { maxLength: 4 }).map((e) => Object.fromEntries(e));
    fc.assert(
      fc.property(labels, labels, (requested, allowed) => {
        const reference = new Map(Object.entries(allowed));
        const expected = Object.entries(requested).every(([k, v]) => reference.get(k) === v);
        expect(labelsAllowed(requested, allowed) === undefined).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});
