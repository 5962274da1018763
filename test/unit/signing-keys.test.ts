import { describe, expect, it } from 'vitest';
import {
  activeKey, newKeySet, parseKeySet, pruneKeySet, publishedKeys, retirementDelaySeconds, retiringKids, rotateKeySet,
  type KeySet, type SigningAlg, type SigningKey,
} from '../../shared/core/signing-keys.js';
import { NOW } from '../fixtures/builders.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];
const RETIRE_AFTER = 3600;
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

/** A key with fixed, fake members: the core never does cryptography, only bookkeeping. */
function aKey(kid: string, alg: SigningAlg = 'RS256', createdAt = NOW): SigningKey {
  const publicJwk = alg === 'RS256' ? { kty: 'RSA' as const, n: `n-${kid}`, e: 'AQAB' } : { kty: 'EC' as const, crv: 'P-256', x: `x-${kid}`, y: `y-${kid}` };
  const privateMembers = alg === 'RS256' ? { d: 'd', p: 'p', q: 'q', dp: 'dp', dq: 'dq', qi: 'qi' } : { d: 'd' };
  return { kid, alg, createdAt: createdAt.toISOString(), publicJwk, privateJwk: { ...publicJwk, ...privateMembers } };
}

const kids = (set: KeySet, now: Date) => publishedKeys(set, now).map((k) => k.kid);

describe('rotateKeySet', () => {
  it('makes the new key the signing key', () => {
    const rotated = rotateKeySet(newKeySet(aKey('old')), aKey('new'), NOW, RETIRE_AFTER);

    expect(activeKey(rotated).kid).toBe('new');
    expect(rotated.activeKid).toBe('new');
  });

  it('retires the previous key retireAfterSeconds from now', () => {
    const rotated = rotateKeySet(newKeySet(aKey('old')), aKey('new'), NOW, RETIRE_AFTER);

    expect(rotated.keys.find((k) => k.kid === 'old')?.retiresAt).toBe(later(RETIRE_AFTER).toISOString());
    expect(activeKey(rotated).retiresAt).toBeUndefined();
    expect(retiringKids(rotated)).toEqual(['old']);
  });

  it('keeps the retiresAt of keys retired earlier', () => {
    const twice = rotateKeySet(rotateKeySet(newKeySet(aKey('one')), aKey('two'), NOW, RETIRE_AFTER), aKey('three'), later(60), RETIRE_AFTER);

    expect(twice.keys.map((k) => [k.kid, k.retiresAt])).toEqual([
      ['three', undefined],
      ['two', later(60 + RETIRE_AFTER).toISOString()],
      ['one', later(RETIRE_AFTER).toISOString()],
    ]);
  });

  it('refuses a key already in the set', () => {
    expect(() => rotateKeySet(newKeySet(aKey('same')), aKey('same'), NOW, RETIRE_AFTER)).toThrow(/already in the set/);
  });
});

describe('publishedKeys', () => {
  it('keeps the previous public key published until its retiresAt', () => {
    const rotated = rotateKeySet(newKeySet(aKey('old')), aKey('new'), NOW, RETIRE_AFTER);

    expect(kids(rotated, NOW)).toEqual(['new', 'old']);
    expect(kids(rotated, later(RETIRE_AFTER - 1))).toEqual(['new', 'old']);
    expect(kids(rotated, later(RETIRE_AFTER))).toEqual(['new']);
  });

  it.each([
    { $case: 'RS256', alg: 'RS256' as const, expected: { kty: 'RSA', kid: 'k', alg: 'RS256', use: 'sig', n: 'n-k', e: 'AQAB' } },
    { $case: 'ES256', alg: 'ES256' as const, expected: { kty: 'EC', kid: 'k', alg: 'ES256', use: 'sig', crv: 'P-256', x: 'x-k', y: 'y-k' } },
  ])('publishes only the public members of an $case key', ({ alg, expected }) => {
    const [published] = publishedKeys(newKeySet(aKey('k', alg)), NOW);

    expect(published).toEqual(expected);
    for (const member of PRIVATE_MEMBERS) expect(published).not.toHaveProperty(member);
  });

  it('never publishes a private member stored by mistake in the public JWK', () => {
    const key = aKey('k');
    const leaky = { ...key, publicJwk: { ...key.privateJwk } };

    const [published] = publishedKeys(newKeySet(leaky), NOW);

    for (const member of PRIVATE_MEMBERS) expect(published).not.toHaveProperty(member);
  });

  it('publishes RS256 and ES256 keys side by side after a change of algorithm', () => {
    const rotated = rotateKeySet(newKeySet(aKey('rsa', 'RS256')), aKey('ec', 'ES256'), NOW, RETIRE_AFTER);

    expect(publishedKeys(rotated, NOW).map((k) => [k.kid, k.alg, k.kty])).toEqual([
      ['ec', 'ES256', 'EC'],
      ['rsa', 'RS256', 'RSA'],
    ]);
  });
});

describe('pruneKeySet', () => {
  const rotated = rotateKeySet(newKeySet(aKey('old')), aKey('new'), NOW, RETIRE_AFTER);

  it('keeps a retired key before its retiresAt', () => {
    expect(pruneKeySet(rotated, later(RETIRE_AFTER - 1)).keys.map((k) => k.kid)).toEqual(['new', 'old']);
  });

  it('removes a retired key once its retiresAt has passed', () => {
    const pruned = pruneKeySet(rotated, later(RETIRE_AFTER));

    expect(pruned.keys.map((k) => k.kid)).toEqual(['new']);
    expect(pruned.activeKid).toBe('new');
  });

  it('always keeps the signing key', () => {
    const odd: KeySet = { activeKid: 'a', keys: [{ ...aKey('a'), retiresAt: NOW.toISOString() }] };

    expect(pruneKeySet(odd, later(1)).keys.map((k) => k.kid)).toEqual(['a']);
  });
});

describe('parseKeySet', () => {
  it('reads a stored key set', () => {
    const set = rotateKeySet(newKeySet(aKey('old', 'ES256')), aKey('new'), NOW, RETIRE_AFTER);

    expect(parseKeySet(JSON.stringify(set))).toEqual({ ok: true, value: set });
  });

  it.each([
    { $case: 'not JSON', text: '{', detail: 'not JSON' },
    { $case: 'activeKid names no key', text: JSON.stringify({ activeKid: 'x', keys: [aKey('k')] }), detail: 'activeKid: custom' },
    { $case: 'no keys', text: JSON.stringify({ activeKid: 'x', keys: [] }), detail: 'keys: too_small' },
    { $case: 'duplicate kids', text: JSON.stringify({ activeKid: 'k', keys: [aKey('k'), aKey('k')] }), detail: 'keys: custom' },
    { $case: 'unknown algorithm', text: JSON.stringify({ activeKid: 'k', keys: [{ ...aKey('k'), alg: 'HS256' }] }), detail: 'keys.0.alg: invalid_value' },
  ])('refuses $case', ({ text, detail }) => {
    expect(parseKeySet(text)).toEqual({ ok: false, detail: expect.stringContaining(detail) });
  });

  it('never echoes a value in its detail', () => {
    const key = aKey('k');
    const text = JSON.stringify({ activeKid: 'k', keys: [{ ...key, privateJwk: { ...key.privateJwk, kty: 'SECRET-VALUE' } }] });

    const result = parseKeySet(text);

    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('SECRET-VALUE');
  });
});

describe('retirementDelaySeconds', () => {
  it('is the longest token lifetime plus the key cache time', () => {
    expect(retirementDelaySeconds([86_400, 3600], 300)).toBe(86_700);
  });
});
