import { describe, expect, it } from 'vitest';
import { boundByEcsVersion, checkStopAgainstEcs, nextEnrollmentStep, restatesStartingRecord } from '../../shared/core/enrollment.js';
import { aRecord } from '../fixtures/builders.js';

const change = (version: number, lastStatus: string, desiredStatus = 'RUNNING') => ({ version, lastStatus, desiredStatus });

describe('nextEnrollmentStep', () => {
  it.each([
    { case: 'first PROVISIONING', record: undefined, event: change(1, 'PROVISIONING'), kind: 'prepare' },
    { case: 'first PENDING', record: undefined, event: change(2, 'PENDING'), kind: 'prepare' },
    { case: 'RUNNING after pending', record: aRecord({ phase: 'pending', version: 2 }), event: change(3, 'RUNNING'), kind: 'enroll' },
    { case: 'RUNNING with desired STOPPED', record: aRecord({ version: 3 }), event: change(4, 'RUNNING', 'STOPPED'), kind: 'drain' },
    { case: 'DEACTIVATING', record: aRecord({ version: 3 }), event: change(4, 'DEACTIVATING', 'STOPPED'), kind: 'drain' },
    { case: 'STOPPED after draining', record: aRecord({ phase: 'draining', version: 4 }), event: change(5, 'STOPPED', 'STOPPED'), kind: 'deregister' },
    { case: 'STOPPED first', record: undefined, event: change(5, 'STOPPED', 'STOPPED'), kind: 'deregister' },
    { case: 'a rejected task seen RUNNING again (re-evaluate)', record: aRecord({ phase: 'rejected', version: 3 }), event: change(4, 'RUNNING'), kind: 'enroll' },
  ])('$case → $kind', ({ record, event, kind }) => {
    expect(nextEnrollmentStep(record, event).kind).toBe(kind);
  });

  it.each([
    { case: 'an older version', record: aRecord({ version: 5 }), event: change(3, 'RUNNING'), why: 'stale' },
    { case: 'the same version again', record: aRecord({ version: 3 }), event: change(3, 'RUNNING'), why: 'duplicate' },
    { case: 'a late RUNNING after the tombstone', record: aRecord({ phase: 'deregistered', version: 5 }), event: change(6, 'RUNNING'), why: 'tombstoned' },
    { case: 'a RUNNING after draining', record: aRecord({ phase: 'draining', version: 4 }), event: change(5, 'RUNNING'), why: 'tombstoned' },
    { case: 'a second STOPPED', record: aRecord({ phase: 'deregistered', version: 5 }), event: change(6, 'STOPPED', 'STOPPED'), why: 'tombstoned' },
  ])('skips $case ($why)', ({ record, event, why }) => {
    expect(nextEnrollmentStep(record, event)).toEqual({ kind: 'skip', why });
  });
});

describe('boundByEcsVersion', () => {
  const running = { version: 7, lastStatus: 'RUNNING', desiredStatus: 'RUNNING' };
  it('keeps a version ECS has reached', () => {
    expect(boundByEcsVersion(running, 7)).toEqual({ change: running });
    expect(boundByEcsVersion(running, 9)).toEqual({ change: running });
  });
  it('keeps the version when ECS reports none', () => {
    expect(boundByEcsVersion(running, undefined)).toEqual({ change: running });
  });
  it('records ECS’s version for an event ahead of it, and says by how much', () => {
    expect(boundByEcsVersion({ ...running, version: Number.MAX_SAFE_INTEGER }, 3)).toEqual({ change: { ...running, version: 3 }, aheadBy: Number.MAX_SAFE_INTEGER - 3 });
  });
});

describe('checkStopAgainstEcs', () => {
  const stop = change(4, 'STOPPED', 'STOPPED');
  it.each([
    { case: 'ECS no longer knows the task', ecs: undefined, verdict: 'stands' },
    { case: 'ECS describes it desired STOPPED', ecs: change(4, 'RUNNING', 'STOPPED'), verdict: 'stands' },
    { case: 'ECS describes it STOPPING', ecs: change(5, 'STOPPING', 'STOPPED'), verdict: 'stands' },
    { case: 'ECS describes it STOPPED', ecs: change(5, 'STOPPED', 'STOPPED'), verdict: 'stands' },
    { case: 'ECS describes it running at the event’s version', ecs: change(4, 'RUNNING'), verdict: 'contradicted' },
    { case: 'ECS describes it running at a later version', ecs: change(6, 'RUNNING'), verdict: 'contradicted' },
    { case: 'ECS describes it starting at a later version', ecs: change(6, 'PENDING'), verdict: 'contradicted' },
    { case: 'ECS describes it running, without a version', ecs: { lastStatus: 'RUNNING', desiredStatus: 'RUNNING' }, verdict: 'contradicted' },
    { case: 'ECS describes it running at an older version', ecs: change(3, 'RUNNING'), verdict: 'unconfirmed' },
  ])('$case → $verdict', ({ ecs, verdict }) => {
    expect(checkStopAgainstEcs(stop, ecs).verdict).toBe(verdict);
  });

  it('says what the event claimed and what ECS said', () => {
    expect(checkStopAgainstEcs(stop, change(6, 'RUNNING'))).toEqual({
      verdict: 'contradicted',
      detail: 'stop not applied: the stop event (STOPPED, desired STOPPED) claims version 4; ECS describes the task RUNNING, desired RUNNING at version 6',
      ecs: { lastStatus: 'RUNNING', desiredStatus: 'RUNNING' },
    });
  });
});

describe('restatesStartingRecord', () => {
  const provisioning = aRecord({ phase: 'pending', reason: 'TASK_STARTING', version: 1, lastStatus: 'PROVISIONING', detail: 'task is PROVISIONING; allowed by allow-ratings rule 0', policy: 'allow-ratings', rule: 0 });
  const pending = { ...provisioning, version: 2, lastStatus: 'PENDING', detail: 'task is PENDING; allowed by allow-ratings rule 0; data-plane token fresh', address: '10.0.0.7' };
  const refusal = { ...provisioning, phase: 'rejected' as const, reason: 'POLICY_DENIED' as const, detail: 'no rule matches', policy: undefined, rule: undefined };

  it.each([
    { case: 'PENDING after PROVISIONING, same decision', previous: provisioning, next: pending, restates: true },
    { case: 'the same refusal again', previous: refusal, next: { ...refusal, version: 2, lastStatus: 'PENDING' }, restates: true },
    { case: 'nothing recorded yet', previous: undefined, next: pending, restates: false },
    { case: 'another rule allows it now', previous: provisioning, next: { ...pending, rule: 1 }, restates: false },
    { case: 'another role', previous: provisioning, next: { ...pending, roleArn: 'arn:aws:iam::123456789012:role/other' }, restates: false },
    { case: 'refused now', previous: provisioning, next: { ...refusal, version: 2 }, restates: false },
    { case: 'refused for another reason', previous: refusal, next: { ...refusal, version: 2, detail: 'the group has changed' }, restates: false },
    { case: 'the exchange placeholder (no decision recorded)', previous: aRecord({ phase: 'pending', reason: 'TASK_STARTING', version: 0, lastStatus: 'UNKNOWN', desiredStatus: 'UNKNOWN', policy: undefined, rule: undefined }), next: pending, restates: false },
    { case: 'a record written at RUNNING', previous: { ...provisioning, lastStatus: 'RUNNING' }, next: pending, restates: false },
  ])('$case → $restates', ({ previous, next, restates }) => {
    expect(restatesStartingRecord(previous, next)).toBe(restates);
  });
});
