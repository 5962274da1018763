import { describe, expect, it } from 'vitest';
import { taskArnsByCluster } from '../../shared/core/task.js';

const prod = 'arn:aws:ecs:us-east-1:123456789012:cluster/prod';
const staging = 'arn:aws:ecs:us-east-1:123456789012:cluster/staging';
const task = (clusterArn: string, id: string) => ({ clusterArn, taskArn: `${clusterArn.replace(':cluster/', ':task/')}/${id}` });

describe('taskArnsByCluster', () => {
  it('groups task ARNs by cluster, keeping the order clusters and tasks were first seen in', () => {
    const tasks = [task(staging, 's1'), task(prod, 'p1'), task(staging, 's2'), task(prod, 'p2'), task(staging, 's3')];

    const grouped = taskArnsByCluster(tasks);

    expect([...grouped]).toEqual([
      [staging, [tasks[0]!.taskArn, tasks[2]!.taskArn, tasks[4]!.taskArn]],
      [prod, [tasks[1]!.taskArn, tasks[3]!.taskArn]],
    ]);
  });

  it('gives no groups for no tasks, and keeps a task named twice twice', () => {
    const twice = task(prod, 'p1');

    expect(taskArnsByCluster([]).size).toBe(0);
    expect(taskArnsByCluster([twice, twice]).get(prod)).toEqual([twice.taskArn, twice.taskArn]);
  });
});
