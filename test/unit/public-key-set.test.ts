import { describe, expect, it } from 'vitest';
import { parsePublicKeySet, publicKeysAt, statusesAt, supersedes, toPublicKeySet } from '../../shared/core/public-key-set.js';
import { rotateKeySet, type KeySet, type SigningKey } from '../../shared/core/signing-keys.js';

const key = (kid: string, createdAt: string, times: { activatesAt?: string; retiresAt?: string } = {}): SigningKey => ({
  kid,
  alg: 'RS256',
  createdAt,
  privateJwk: { kty: 'RSA', n: `n-${kid}`, e: 'AQAB', d: `secret-${kid}`, p: 'p', q: 'q', dp: 'dp', dq: 'dq', qi: 'qi' },
  publicJwk: { kty: 'RSA', n: `n-${kid}`, e: 'AQAB' },
  ...times,
});
// `new` was rotated in on 11-23 and signs from 11-24; `old` retires on 11-25.
const rotated: KeySet = {
  keys: [
    key('new', '2026-11-23T10:00:00.000Z', { activatesAt: '2026-11-24T10:00:00.000Z' }),
    key('old', '2026-10-01T00:00:00.000Z', { activatesAt: '2026-10-01T00:00:00.000Z', retiresAt: '2026-11-25T10:00:00.000Z' }),
  ],
};

describe('toPublicKeySet', () => {
  it('keeps only public members of every key, with activation and retirement times', () => {
    const published = toPublicKeySet(rotated);

    expect(JSON.stringify(published)).not.toMatch(/secret-|"d"|"p"|"q"|"dp"|"dq"|"qi"/);
    expect(published).toEqual({
      newestCreatedAt: '2026-11-23T10:00:00.000Z',
      keys: [
        { jwk: { kty: 'RSA', kid: 'new', alg: 'RS256', use: 'sig', n: 'n-new', e: 'AQAB' }, activatesAt: '2026-11-24T10:00:00.000Z' },
        { jwk: { kty: 'RSA', kid: 'old', alg: 'RS256', use: 'sig', n: 'n-old', e: 'AQAB' }, activatesAt: '2026-10-01T00:00:00.000Z', retiresAt: '2026-11-25T10:00:00.000Z' },
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

describe('publicKeysAt and statusesAt', () => {
  it.each([
    { case: 'while the new key is pending', now: '2026-11-23T10:00:00.000Z', states: [['new', 'pending'], ['old', 'active']] },
    { case: 'once the new key signs', now: '2026-11-24T10:00:00.000Z', states: [['new', 'active'], ['old', 'retiring']] },
    { case: 'once the old key retired', now: '2026-11-25T10:00:00.000Z', states: [['new', 'active']] },
  ])('publishes $case', ({ now, states }) => {
    const set = toPublicKeySet(rotated);

    expect(statusesAt(set, new Date(now)).map((s) => [s.kid, s.state])).toEqual(states);
    expect(publicKeysAt(set, new Date(now)).map((k) => k.kid)).toEqual(states.map(([kid]) => kid));
  });

  it('reads a set published before pending keys: the active key signs, the others retire', () => {
    const legacy = parsePublicKeySet(JSON.stringify({
      activeKid: 'b',
      activeCreatedAt: '2026-11-23T10:00:00.000Z',
      keys: [{ jwk: { kty: 'RSA', kid: 'b', alg: 'RS256', use: 'sig', n: 'n', e: 'AQAB' } }, { jwk: { kty: 'RSA', kid: 'a', alg: 'RS256', use: 'sig', n: 'm', e: 'AQAB' }, retiresAt: '2026-11-24T10:00:00.000Z' }],
    }));

    expect(statusesAt(legacy!, new Date('2026-11-23T11:00:00.000Z')).map((s) => [s.kid, s.state])).toEqual([['b', 'active'], ['a', 'retiring']]);
  });
});

describe('supersedes', () => {
  const before: KeySet = { keys: [key('old', '2026-10-01T00:00:00.000Z')] };
  const revokedOld: KeySet = { keys: rotated.keys.map((k) => (k.kid === 'old' ? { ...k, retiresAt: '2026-11-24T12:00:00.000Z' } : k)) };

  it.each([
    { case: 'nothing is published yet', next: rotated, published: undefined, expected: true },
    { case: 'the next set has a newer key (a pending one counts)', next: rotated, published: before, expected: true },
    { case: 'a signer holds an older set', next: before, published: rotated, expected: false },
    { case: 'the newest key is the same', next: rotated, published: rotated, expected: false },
    { case: 'the next set revokes a key (retires it earlier)', next: revokedOld, published: rotated, expected: true },
    { case: 'a signer holds the set from before a revocation', next: rotated, published: revokedOld, expected: false },
  ])('answers $expected when $case', ({ next, published, expected }) => {
    expect(supersedes(toPublicKeySet(next), published && toPublicKeySet(published))).toBe(expected);
  });

  it('orders a set published before pending keys below any newer one', () => {
    const legacy = { activeKid: 'old', activeCreatedAt: '2026-10-01T00:00:00.000Z', keys: [] };

    expect(supersedes(toPublicKeySet(rotated), legacy)).toBe(true);
    expect(supersedes(legacy, toPublicKeySet(rotated))).toBe(false);
  });
});

describe('rotateKeySet ordering', () => {
  it('makes the new key strictly newer than the ones before it, even on the same clock tick', () => {
    const tick = '2026-11-23T10:00:00.000Z';
    const start: KeySet = { keys: [key('a', tick)] };

    const next = rotateKeySet(start, key('b', tick), new Date(tick), { prepublishSeconds: 60, retireAfterSeconds: 60 }).set;

    expect(supersedes(toPublicKeySet(next), toPublicKeySet(start))).toBe(true);
  });
});
