// A member account's assumed session, shared by its IAM and ECS clients.
import { describe, expect, it } from 'vitest';
import { sharedSession, type SessionCredentials } from '../../shared/adapters/shared-session.js';

const RENEWAL_MS = 5 * 60_000;

/** AssumeRole answering sessions that last `lifetimesMs` in turn (the last one thereafter), counting its calls. */
function assumeRole(now: () => number, lifetimesMs: number[], failFirst = false) {
  let calls = 0;
  const assume = async (): Promise<SessionCredentials> => {
    calls += 1;
    if (failFirst && calls === 1) throw new Error('AccessDenied');
    return { accessKeyId: `ASIA${calls}`, secretAccessKey: 's', expiration: new Date(now() + lifetimesMs[Math.min(calls - 1, lifetimesMs.length - 1)]!) };
  };
  return { assume, calls: () => calls };
}

describe('sharedSession', () => {
  it('assumes the role once for every client that asks at once, and again only when the session is due', async () => {
    let clock = 0;
    const role = assumeRole(() => clock, [3_600_000]);
    const credentials = sharedSession(role.assume, RENEWAL_MS, () => clock);

    const first = await Promise.all([credentials(), credentials()]);
    clock = 3_600_000 - RENEWAL_MS;
    const stillValid = await credentials();
    clock = 3_600_000 - RENEWAL_MS + 1;
    const renewed = await Promise.all([credentials(), credentials()]);

    expect(first.map((c) => c.accessKeyId)).toEqual(['ASIA1', 'ASIA1']);
    expect(stillValid.accessKeyId).toBe('ASIA1');
    expect(renewed.map((c) => c.accessKeyId)).toEqual(['ASIA2', 'ASIA2']);
    expect(role.calls()).toBe(2);
  });

  it('keeps no failed AssumeRole: the next call tries again', async () => {
    const role = assumeRole(() => 0, [3_600_000], true);
    const credentials = sharedSession(role.assume, RENEWAL_MS, () => 0);

    await expect(credentials()).rejects.toThrow('AccessDenied');
    const retried = await credentials();

    expect(retried.accessKeyId).toBe('ASIA2');
  });

  it('does not loop when a renewed session is itself short (a skewed clock): it is used, and renewed on the next call', async () => {
    const role = assumeRole(() => 0, [60_000]);
    const credentials = sharedSession(role.assume, RENEWAL_MS, () => 0);

    const first = await credentials();
    const second = await credentials();

    expect([first.accessKeyId, second.accessKeyId]).toEqual(['ASIA2', 'ASIA3']);
  });
});
