import { describe, expect, it } from 'vitest';
import {
  fitKeySet, keySetBytes, keyStates, newKeySet, parseKeySet, revokeKey, pendingKeyAt, pruneKeySet, publishedKeys, retirementDelaySeconds, rotateKeySet, signingKeyAt, summarize,
  type KeySet, type RotationTimes, type SigningAlg, type SigningKey,
} from '../../shared/core/signing-keys.js';
import { NOW } from '../fixtures/builders.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];
const RETIRE_AFTER = 3600;
const PREPUBLISH = 600;
const TIMES: RotationTimes = { prepublishSeconds: PREPUBLISH, retireAfterSeconds: RETIRE_AFTER };
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

/** A key with fixed, fake members: the core never does cryptography, only bookkeeping. */
function aKey(kid: string, alg: SigningAlg = 'RS256', createdAt = NOW): SigningKey {
  const publicJwk = alg === 'RS256' ? { kty: 'RSA' as const, n: `n-${kid}`, e: 'AQAB' } : { kty: 'EC' as const, crv: 'P-256', x: `x-${kid}`, y: `y-${kid}` };
  const privateMembers = alg === 'RS256' ? { d: 'd', p: 'p', q: 'q', dp: 'dp', dq: 'dq', qi: 'qi' } : { d: 'd' };
  return { kid, alg, createdAt: createdAt.toISOString(), publicJwk, privateJwk: { ...publicJwk, ...privateMembers } };
}

const kids = (set: KeySet, now: Date) => publishedKeys(set, now).map((k) => k.kid);
const states = (set: KeySet, now: Date) => keyStates(set.keys, now).map((s) => [s.key.kid, s.state]);
/** `old` signing since NOW, `new` rotated in at later(10). */
const rotatedAt10 = (times: RotationTimes = TIMES) => rotateKeySet(newKeySet(aKey('old')), aKey('new', 'RS256', later(10)), later(10), times).set;

describe('newKeySet', () => {
  it('makes the first key sign at once: no verifier can hold an earlier key of ours', () => {
    const set = newKeySet(aKey('first'));

    expect(signingKeyAt(set.keys, NOW)?.kid).toBe('first');
    expect(states(set, NOW)).toEqual([['first', 'active']]);
  });

  it('signs with the first key at a clock a few ms behind the one that created it: there is no earlier key', () => {
    const set = newKeySet(aKey('first'));
    const behind = new Date(NOW.getTime() - 5);

    expect(signingKeyAt(set.keys, behind)?.kid).toBe('first');
    expect(states(set, behind)).toEqual([['first', 'active']]);
    expect(pendingKeyAt(set.keys, behind)).toBeUndefined();
  });
});

describe('signingKeyAt before every key has activated', () => {
  it('never lets a rotated-in key sign early, even at a clock behind its predecessor\'s activation', () => {
    const set = rotatedAt10();

    expect(signingKeyAt(set.keys, later(-1))?.kid).toBe('old');
    expect(states(set, later(-1))).toEqual([['new', 'pending'], ['old', 'active']]);
  });

  it('keeps the first key in an emergency rotated at a clock behind its activation: it may have signed', () => {
    const behind = new Date(NOW.getTime() - 5);

    const next = rotateKeySet(newKeySet(aKey('first')), aKey('fresh', 'RS256', behind), behind, { ...TIMES, emergency: true }).set;

    expect(next.keys.map((k) => [k.kid, k.retiresAt])).toEqual([['fresh', undefined], ['first', new Date(behind.getTime() + RETIRE_AFTER * 1000).toISOString()]]);
    expect(states(next, later(1))).toEqual([['fresh', 'active'], ['first', 'retiring']]);
  });
});

describe('rotateKeySet', () => {
  it('publishes the new key as pending, and the old one keeps signing until the new one activates', () => {
    const set = rotatedAt10();

    expect(states(set, later(10))).toEqual([['new', 'pending'], ['old', 'active']]);
    expect(kids(set, later(10))).toEqual(['new', 'old']);
    expect(signingKeyAt(set.keys, later(10 + PREPUBLISH - 1))?.kid).toBe('old');
    expect(signingKeyAt(set.keys, later(10 + PREPUBLISH))?.kid).toBe('new');
    expect(states(set, later(10 + PREPUBLISH))).toEqual([['new', 'active'], ['old', 'retiring']]);
  });

  it('retires the previous key retireAfterSeconds after its successor starts signing', () => {
    const set = rotatedAt10();

    expect(set.keys.find((k) => k.kid === 'old')?.retiresAt).toBe(later(10 + PREPUBLISH + RETIRE_AFTER).toISOString());
    expect(set.keys.find((k) => k.kid === 'new')?.retiresAt).toBeUndefined();
    expect(kids(set, later(10 + PREPUBLISH + RETIRE_AFTER - 1))).toEqual(['new', 'old']);
    expect(kids(set, later(10 + PREPUBLISH + RETIRE_AFTER))).toEqual(['new']);
  });

  it('adds nothing while a key is already pending, so retries and schedules never stack keys', () => {
    const set = rotatedAt10();

    const again = rotateKeySet(set, aKey('third', 'RS256', later(20)), later(20), TIMES);

    expect(again).toEqual({ set, rotated: false });
  });

  it('rotates again once the pending key signs', () => {
    const set = rotatedAt10();

    const next = rotateKeySet(set, aKey('third', 'RS256', later(10 + PREPUBLISH)), later(10 + PREPUBLISH), TIMES);

    expect(next.rotated).toBe(true);
    expect(states(next.set, later(10 + PREPUBLISH))).toEqual([['third', 'pending'], ['new', 'active'], ['old', 'retiring']]);
  });

  it('in an emergency, signs with the new key at once and drops a pending key that never signed', () => {
    const set = rotatedAt10();

    const next = rotateKeySet(set, aKey('fresh', 'RS256', later(20)), later(20), { ...TIMES, emergency: true }).set;

    expect(states(next, later(20))).toEqual([['fresh', 'active'], ['old', 'retiring']]);
    // The replaced key's tokens stay verifiable until they expire, as in any rotation.
    expect(next.keys.find((k) => k.kid === 'old')?.retiresAt).toBe(later(20 + RETIRE_AFTER).toISOString());
  });

  it('keeps the retiresAt of keys retired earlier', () => {
    const set = rotatedAt10();
    const third = rotateKeySet(set, aKey('third', 'RS256', later(700)), later(700), TIMES).set;

    expect(third.keys.map((k) => [k.kid, k.retiresAt])).toEqual([
      ['third', undefined],
      ['new', later(700 + PREPUBLISH + RETIRE_AFTER).toISOString()],
      ['old', later(10 + PREPUBLISH + RETIRE_AFTER).toISOString()],
    ]);
  });

  it('refuses a key already in the set', () => {
    expect(() => rotateKeySet(newKeySet(aKey('same')), aKey('same'), NOW, TIMES)).toThrow(/already in the set/);
  });
});

describe('summarize', () => {
  it('names the signing, pending and retiring keys', () => {
    const set = rotatedAt10();

    expect(summarize(set, later(10), 'rotated')).toEqual({ outcome: 'rotated', activeKid: 'old', pendingKid: 'new', activatesAt: later(10 + PREPUBLISH).toISOString(), retiredKids: [], prunedKids: [] });
    expect(summarize(set, later(10 + PREPUBLISH), 'unchanged')).toEqual({ outcome: 'unchanged', activeKid: 'new', retiredKids: ['old'], prunedKids: [] });
  });
});

describe('publishedKeys', () => {
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
    const rotated = rotateKeySet(newKeySet(aKey('rsa', 'RS256')), aKey('ec', 'ES256'), NOW, TIMES).set;

    expect(publishedKeys(rotated, NOW).map((k) => [k.kid, k.alg, k.kty])).toEqual([
      ['ec', 'ES256', 'EC'],
      ['rsa', 'RS256', 'RSA'],
    ]);
  });
});

describe('pruneKeySet', () => {
  const retired = 10 + PREPUBLISH + RETIRE_AFTER;

  it('keeps a retiring key before its retiresAt', () => {
    expect(pruneKeySet(rotatedAt10(), later(retired - 1)).keys.map((k) => k.kid)).toEqual(['new', 'old']);
  });

  it('removes a retired key once its retiresAt has passed', () => {
    const pruned = pruneKeySet(rotatedAt10(), later(retired));

    expect(pruned.keys.map((k) => k.kid)).toEqual(['new']);
    expect(signingKeyAt(pruned.keys, later(retired))?.kid).toBe('new');
  });

  it('never removes a pending key', () => {
    expect(pruneKeySet(rotatedAt10(), later(10)).keys.map((k) => k.kid)).toEqual(['new', 'old']);
  });
});

describe('parseKeySet', () => {
  it('reads a stored key set', () => {
    const set = rotateKeySet(newKeySet(aKey('old', 'ES256')), aKey('new'), NOW, TIMES).set;

    expect(parseKeySet(JSON.stringify(set))).toEqual({ ok: true, value: set });
  });

  it('reads a set written before pending keys: its newest key signs, the others retire', () => {
    const legacy = { activeKid: 'b', keys: [aKey('b', 'RS256', later(60)), { ...aKey('a'), retiresAt: later(3600).toISOString() }] };

    const parsed = parseKeySet(JSON.stringify(legacy));

    if (!parsed.ok) throw new Error(parsed.detail);
    expect(states(parsed.value, later(61))).toEqual([['b', 'active'], ['a', 'retiring']]);
  });

  it.each([
    { $case: 'not JSON', text: '{', detail: 'not JSON' },
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

describe('revokeKey', () => {
  it('retires a replaced key now, saying until when its tokens would have verified', () => {
    const set = rotateKeySet(newKeySet(aKey('old')), aKey('new', 'RS256', later(10)), later(10), { ...TIMES, emergency: true }).set;

    const revocation = revokeKey(set, 'old', later(20));

    expect(revocation).toMatchObject({ ok: true, revoked: { kid: 'old', signed: true, tokensWouldVerifyUntil: later(10 + RETIRE_AFTER).toISOString() } });
    if (revocation.ok) expect(kids(revocation.set, later(20))).toEqual(['new']);
  });

  it('withdraws a pending key, which never signed', () => {
    const revocation = revokeKey(rotatedAt10(), 'new', later(20));

    expect(revocation).toMatchObject({ ok: true, revoked: { kid: 'new', signed: false } });
    if (revocation.ok) expect(states(revocation.set, later(20 + PREPUBLISH))).toEqual([['old', 'active']]);
  });

  it.each([
    { case: 'the key that signs', kid: 'old', reason: 'KEY_SIGNING' },
    { case: 'an unknown key', kid: 'other', reason: 'KEY_NOT_FOUND' },
  ])('refuses $case', ({ kid, reason }) => {
    expect(revokeKey(rotatedAt10(), kid, later(20))).toMatchObject({ ok: false, reason });
  });
});

describe('fitKeySet', () => {
  it('drops the oldest replaced keys until the set fits, never the signing or a pending key', () => {
    let set = newKeySet(aKey('k0'));
    for (let i = 1; i <= 4; i++) set = rotateKeySet(set, aKey(`k${i}`, 'RS256', later(i)), later(i), { ...TIMES, emergency: true }).set;
    set = rotateKeySet(set, aKey('pending', 'RS256', later(5)), later(5), TIMES).set;
    const limit = keySetBytes({ keys: set.keys.filter((k) => k.kid !== 'k0' && k.kid !== 'k1') });

    const fitted = fitKeySet(set, later(5), limit);

    expect(fitted.revoked.map((r) => r.kid)).toEqual(['k0', 'k1']);
    expect(fitted.set.keys.map((k) => k.kid)).toEqual(['pending', 'k4', 'k3', 'k2']);
    expect(fitKeySet(set, later(5), 1).set.keys.map((k) => k.kid)).toEqual(['pending', 'k4']);
  });
});
