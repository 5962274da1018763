/**
 * "Is the task live" has one answer (taskLiveness): task-events' step, the reconciler's view of
 * ECS and the exchange's task check read every pair of statuses alike, unknown ones included.
 */
import { describe, expect, it } from 'vitest';
import { verifyTaskCaller } from '../../shared/app/verify-task-caller.js';
import { stepForStatus } from '../../shared/core/enrollment.js';
import { ecsViewOf } from '../../shared/core/reconcile.js';
import type { EcsTaskDescription } from '../../shared/core/task.js';
import { ACCOUNT } from '../fixtures/builders.js';
import { TASK_ARN, TASK_ID } from '../fixtures/signed-exchange.js';

const LAST = ['PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED', 'DELETED', 'SOME_NEW_STATUS'];
const DESIRED = ['RUNNING', 'PENDING', 'STOPPED', 'SOME_NEW_STATUS'];
const STATUSES = LAST.flatMap((lastStatus) => DESIRED.map((desiredStatus) => ({ lastStatus, desiredStatus })));

const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/ratings-task`;
const roles = { getRole: async (arn: string) => ({ arn, name: 'ratings-task', roleId: 'AROA1', accountId: ACCOUNT, tags: {} }) };
const caller = { partition: 'aws', account: ACCOUNT, roleName: 'ratings-task', session: TASK_ID, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ratings-task/${TASK_ID}`, roleArn: ROLE_ARN };

/** How each of the three reads the statuses: stopping-or-gone, starting or running. */
async function readings(status: { lastStatus: string; desiredStatus: string }) {
  const step = stepForStatus(status).kind;
  const view = ecsViewOf(status).state;
  const task: EcsTaskDescription = { taskArn: TASK_ARN, clusterArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/prod`, taskDefinitionArn: 'td', launchType: 'FARGATE', tags: {}, ...status };
  const verified = await verifyTaskCaller(caller, { taskArn: TASK_ARN, taskId: TASK_ID }, `AROA1:${TASK_ID}`, roles, Promise.resolve(task));
  return {
    taskEvents: step === 'enroll' ? 'running' : step === 'prepare' ? 'starting' : 'not live',
    reconciler: view === 'running' || view === 'starting' ? view : 'not live',
    exchangeServes: verified.ok,
  };
}

describe('task liveness', () => {
  it.each(STATUSES)('reads $lastStatus (desired $desiredStatus) alike in task-events, the reconciler and the exchange', async (status) => {
    const { taskEvents, reconciler, exchangeServes } = await readings(status);

    expect(reconciler).toBe(taskEvents);
    expect(exchangeServes).toBe(taskEvents !== 'not live');
  });

  it('reads a status ECS may add, on a task not asked to stop, as starting: not enrolled, nothing removed', async () => {
    expect(await readings({ lastStatus: 'SOME_NEW_STATUS', desiredStatus: 'RUNNING' })).toEqual({ taskEvents: 'starting', reconciler: 'starting', exchangeServes: true });
    expect(await readings({ lastStatus: 'SOME_NEW_STATUS', desiredStatus: 'STOPPED' })).toEqual({ taskEvents: 'not live', reconciler: 'not live', exchangeServes: false });
  });
});
