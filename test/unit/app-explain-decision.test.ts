/**
 * Explain (shared/app/explain-decision.ts) on in-memory ports: a task through the decision
 * task-events takes (test/unit/explain-matches-task-events.test.ts shows they agree), and an
 * identity, described or looked up, through the same policy evaluation.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { explainDecision, type IdentityFacts } from '../../shared/app/explain-decision.js';
import { REASONS } from '../../shared/core/reasons.js';
import { ACCOUNT } from '../fixtures/builders.js';
import { ROLE_ARN, TASK_ARN, appWorld, type AppWorld } from '../support/app-world.js';

let world: AppWorld;
beforeEach(() => {
  world = appWorld();
});

const identity = (role: IdentityFacts['role'] = { arn: ROLE_ARN }): IdentityFacts => ({ partition: 'aws', account: ACCOUNT, region: 'us-east-1', cluster: 'prod', role });

describe('explainDecision for a task', () => {
  it('explains an allowed task with its policy, group, status and trace', async () => {
    const explained = await explainDecision({ subject: { taskArn: TASK_ARN, clusterName: 'prod' } }, world.exchange);

    expect(explained).toMatchObject({ allowed: true, reason: REASONS.POLICY_ALLOWED, policy: 'allow-ratings', group: { namespace: 'bookinfo', name: 'ratings', labels: { app: 'ratings' } }, task: { lastStatus: 'RUNNING' }, droppedLabels: [] });
    expect(explained.trace.map((t) => t.result)).toEqual(['allowed']);
  });

  it('judges a named group instead of the task tag', async () => {
    expect(await explainDecision({ subject: { taskArn: TASK_ARN, clusterName: 'prod' }, group: { namespace: 'bookinfo', name: 'reviews' } }, world.exchange)).toMatchObject({ allowed: false, reason: REASONS.WORKLOAD_GROUP_NOT_FOUND, group: { name: 'reviews' } });
  });

  it.each([
    { name: 'an ARN that is no task', taskArn: `arn:aws:iam::${ACCOUNT}:role/x`, clusterName: 'prod' },
    { name: 'a task ECS does not know', taskArn: TASK_ARN, clusterName: 'staging' },
  ])('says TASK_NOT_FOUND for $name', async ({ taskArn, clusterName }) => {
    expect(await explainDecision({ subject: { taskArn, clusterName } }, world.exchange)).toMatchObject({ allowed: false, outcome: 'rejected', reason: REASONS.TASK_NOT_FOUND, trace: [] });
  });
});

describe('explainDecision for an identity', () => {
  it("reads the role's group tag from IAM, and explains a role IAM does not know", async () => {
    world.roles.roles.set(ROLE_ARN, { ...world.roles.roles.get(ROLE_ARN)!, tags: { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' } });

    expect(await explainDecision({ subject: { identity: identity() } }, world.exchange)).toMatchObject({ allowed: true, policy: 'allow-ratings', identity: { launchType: 'UNKNOWN', role: { roleId: 'AROAEXAMPLEROLEID0001' } } });
    expect(await explainDecision({ subject: { identity: identity({ arn: `arn:aws:iam::${ACCOUNT}:role/gone` }) } }, world.exchange)).toMatchObject({ allowed: false, reason: REASONS.TASK_ROLE_NOT_FOUND });
  });

  it('takes described role tags as given (a what-if), without asking IAM', async () => {
    const calls = world.roles.calls;

    const explained = await explainDecision({ subject: { identity: identity({ arn: ROLE_ARN, tags: { team: 'other' } }) }, group: { namespace: 'bookinfo', name: 'ratings' } }, world.exchange);

    expect(explained).toMatchObject({ allowed: false, reason: REASONS.POLICY_DENIED, identity: { role: { name: 'ratings-task', roleId: '(not looked up)', tags: { team: 'other' } } } });
    expect(world.roles.calls).toBe(calls);
  });

  it.each<{ name: string; tags: Record<string, string>; outcome: string; reason: string }>([
    { name: 'no group and no tag', tags: { team: 'ratings' }, outcome: 'ignored', reason: REASONS.NO_WORKLOAD_GROUP_TAG },
    { name: 'an invalid tag', tags: { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo' }, outcome: 'rejected', reason: REASONS.INVALID_WORKLOAD_GROUP_TAG },
  ])('refuses $name on the role', async ({ tags, outcome, reason }) => {
    expect(await explainDecision({ subject: { identity: identity({ arn: ROLE_ARN, tags }) } }, world.exchange)).toMatchObject({ allowed: false, outcome, reason });
  });

  it("evaluates given group labels instead of the group's, even for a group not in the mesh", async () => {
    world.mesh.groups.clear();
    const request = { subject: { identity: identity({ arn: ROLE_ARN, tags: { team: 'ratings' } }) }, group: { namespace: 'bookinfo', name: 'ratings' } };

    expect(await explainDecision({ ...request, groupLabels: { app: 'ratings' } }, world.exchange)).toMatchObject({ allowed: true, group: { labels: { app: 'ratings' } } });
    expect(await explainDecision(request, world.exchange)).toMatchObject({ allowed: false, reason: REASONS.WORKLOAD_GROUP_NOT_FOUND });
  });
});
