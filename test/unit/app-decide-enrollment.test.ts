/**
 * The decision (shared/app/decide-enrollment.ts, evaluate-access.ts) on in-memory ports, for what
 * test/unit/refusals-agree.test.ts (every refusal, on the four paths that take it) does not show:
 * the policy trace, a what-if on given labels, RunTask's role override and the address check.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { contextOfTask, decideEnrollment } from '../../shared/app/decide-enrollment.js';
import { evaluateAccess } from '../../shared/app/evaluate-access.js';
import { REASONS } from '../../shared/core/reasons.js';
import { ACCOUNT, aPolicy, anIdentity } from '../fixtures/builders.js';
import { ROLE, TASK_ID, appWorld, aRunningTask, type AppWorld } from '../support/app-world.js';

const REF = { namespace: 'bookinfo', name: 'ratings' };
let world: AppWorld;
beforeEach(() => {
  world = appWorld();
});

describe('evaluateAccess', () => {
  it('traces every policy of the namespace by name: the one that allowed, those that missed, the invalid and those after', async () => {
    world.policies.seed('bookinfo', 'a-other-team', aPolicy({ name: 'a-other-team', allow: [{ workloads: [{ aws: { accounts: ['210987654321'], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] }));
    world.policies.seed('bookinfo', 'a-broken', { kind: 'OnboardingPolicy' });
    world.policies.seed('bookinfo', 'z-later', aPolicy({ name: 'z-later' }));

    const access = await evaluateAccess(anIdentity(), REF, world.enrollment);

    expect(access).toMatchObject({ allowed: true, policy: 'allow-ratings', rule: 0, labels: { app: 'ratings' } });
    expect(access.trace.map((t) => [t.policy, t.result])).toEqual([
      ['a-broken', 'invalid'],
      ['a-other-team', 'no-match'],
      ['allow-ratings', 'allowed'],
      ['z-later', 'not-evaluated'],
    ]);
  });

  it('judges given labels without reading the group (a what-if), and says a missing group is missing otherwise', async () => {
    world.mesh.groups.clear();

    expect(await evaluateAccess(anIdentity(), REF, world.enrollment, { app: 'ratings' })).toMatchObject({ allowed: true, group: undefined });
    expect(await evaluateAccess(anIdentity(), REF, world.enrollment, { app: 'reviews' })).toMatchObject({ allowed: false, reason: REASONS.POLICY_DENIED });
    expect(await evaluateAccess(anIdentity(), REF, world.enrollment)).toMatchObject({ allowed: false, reason: REASONS.WORKLOAD_GROUP_NOT_FOUND, trace: [] });
  });
});

describe('decideEnrollment', () => {
  const decide = (task = aRunningTask()) => decideEnrollment(contextOfTask(task), task, world.enrollment, world.clock.now());

  it('enrolls the allowed task with a valid entry stamped with its version, and the claim it must take', async () => {
    const decision = await decide();

    expect(decision).toMatchObject({ outcome: 'enrolled', address: '10.0.0.7', claim: { network: 'vpc-1', address: '10.0.0.7' }, policy: 'allow-ratings', identity: { accountId: ACCOUNT, clusterName: 'prod', role: ROLE } });
    expect(decision.outcome === 'enrolled' && decision.entry.metadata.name).toBe(`ratings-${TASK_ID}`);
  });

  it("judges RunTask's role override, not the task definition's role", async () => {
    const overridden = `arn:aws:iam::${ACCOUNT}:role/deleted-role`;

    expect(await decide(aRunningTask(TASK_ID, { overrideTaskRoleArn: overridden }))).toMatchObject({ outcome: 'rejected', reason: REASONS.TASK_ROLE_NOT_FOUND, roleArn: overridden });
  });

  it("refuses an address another live task holds, but not one a tombstoned task's stale claim names", async () => {
    const holder = 'fedcba9876543210fedcba9876543210';
    await world.addresses.claim({ network: 'vpc-1', address: '10.0.0.7' }, { taskId: holder, taskArn: aRunningTask(holder).taskArn }, world.clock.now());
    world.enrollments.records.set(holder, { taskId: holder, taskArn: aRunningTask(holder).taskArn, clusterArn: '', clusterName: 'prod', version: 3, phase: 'enrolled', reason: REASONS.POLICY_ALLOWED, detail: '', lastStatus: 'RUNNING', desiredStatus: 'RUNNING', updatedAt: world.clock.now().toISOString() });

    expect(await decide()).toMatchObject({ outcome: 'rejected', reason: REASONS.ADDRESS_IN_USE, detail: expect.stringContaining(holder) });

    world.enrollments.records.set(holder, { ...world.enrollments.records.get(holder)!, phase: 'deregistered' });
    expect(await decide()).toMatchObject({ outcome: 'enrolled' });
  });
});
