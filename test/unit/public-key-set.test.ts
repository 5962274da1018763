import { describe, expect, it } from 'vitest';
import { parsePublicKeySet, publicKeysAt, supersedes, toPublicKeySet } from '../../shared/core/public-key-set.js';
import { rotateKeySet, type KeySet, type SigningKey } from '../../shared/core/signing-keys.js';

const key = (kid: string, createdAt: string, retiresAt?: string): SigningKey => ({
  kid,
  alg: 'RS256',
  createdAt,
  privateJwk: { kty: 'RSA', n: `n-${kid}`, e: 'AQAB', d: `secret-${kid}`, p: 'p', q: 'q', dp: 'dp', dq: 'dq', qi: 'qi' },
  publicJwk: { kty: 'RSA', n: `n-${kid}`, e: 'AQAB' },
  ...(retiresAt ? { retiresAt } : {}),
});
const rotated: KeySet = { activeKid: 'new', keys: [key('new', '2026-11-23T10:00:00.000Z'), key('old', '2026-10-01T00:00:00.000Z', '2026-11-24T10:00:00.000Z')] };

describe('toPublicKeySet', () => {
  it('keeps only public members of every key, with retirement times', () => {
    const published = toPublicKeySet(rotated);

    expect(JSON.stringify(published)).not.toMatch(/secret-|"d"|"p"|"q"|"dp"|"dq"|"qi"/);
    expect(published).toEqual({
      activeKid: 'new',
      activeCreatedAt: '2026-11-23T10:00:00.000Z',
      keys: [
        { jwk: { kty: 'RSA', kid: 'new', alg: 'RS256', use: 'sig', n: 'n-new', e: 'AQAB' } },
        { jwk: { kty: 'RSA', kid: 'old', alg: 'RS256', use: 'sig', n: 'n-old', e: 'AQAB' }, retiresAt: '2026-11-24T10:00:00.000Z' },
      ],
    });
  });

  it('cannot be read back with a private member in it', () => {
    const tampered = toPublicKeySet(rotated);
    (tampered.keys[0]!.jwk as Record<string, string>).d = 'leaked';

    expect(parsePublicKeySet(JSON.stringify(tampered))).toBeUndefined();
    expect(parsePublicKeySet(JSON.stringify(toPublicKeySet(rotated)))).toEqual(toPublicKeySet(rotated));
  });
});

describe('publicKeysAt', () => {
  it.each([
    { case: 'before the old key retires', now: '2026-11-24T09:59:59.000Z', kids: ['new', 'old'] },
    { case: 'once the old key retired', now: '2026-11-24T10:00:00.000Z', kids: ['new'] },
  ])('publishes the active key and $case', ({ now, kids }) => {
    expect(publicKeysAt(toPublicKeySet(rotated), new Date(now)).map((k) => k.kid)).toEqual(kids);
  });
});

describe('supersedes', () => {
  const before: KeySet = { activeKid: 'old', keys: [key('old', '2026-10-01T00:00:00.000Z')] };

  it.each([
    { case: 'nothing is published yet', next: rotated, published: undefined, expected: true },
    { case: 'the next set has a newer active key', next: rotated, published: before, expected: true },
    { case: 'a signer holds an older set', next: before, published: rotated, expected: false },
    { case: 'the active key is the same', next: rotated, published: rotated, expected: false },
  ])('answers $expected when $case', ({ next, published, expected }) => {
    expect(supersedes(toPublicKeySet(next), published && toPublicKeySet(published))).toBe(expected);
  });
});

describe('rotateKeySet ordering', () => {
  it('makes the new active key strictly newer than the one it replaces, even on the same clock tick', () => {
    const tick = '2026-11-23T10:00:00.000Z';
    const start: KeySet = { activeKid: 'a', keys: [key('a', tick)] };

    const next = rotateKeySet(start, key('b', tick), new Date(tick), 60);

    expect(supersedes(toPublicKeySet(next), toPublicKeySet(start))).toBe(true);
  });
});
