/** ListTasks may answer an empty page with a nextToken (ECS filters after paging); moto never does, so a mock stands in. */
import { ECSClient, ListClustersCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { EcsTaskInventory } from '../../shared/adapters/ecs-task-inventory.js';
import { UpstreamThrottledError } from '../../shared/errors.js';

describe('EcsTaskInventory', () => {
  it('keeps paging while nextToken is set, even after empty pages', async () => {
    const ecs = mockClient(ECSClient);
    ecs.on(ListTasksCommand)
      .resolvesOnce({ taskArns: ['arn:t/1'], nextToken: 'a' })
      .resolvesOnce({ taskArns: [], nextToken: 'b' })
      .resolvesOnce({ nextToken: 'c' })
      .resolvesOnce({ taskArns: ['arn:t/2', 'arn:t/3'] });

    const arns = await new EcsTaskInventory(new ECSClient({ region: 'us-east-1' })).listRunningTaskArns('arn:aws:ecs:us-east-1:123456789012:cluster/prod');

    expect(arns).toEqual(['arn:t/1', 'arn:t/2', 'arn:t/3']);
    expect(ecs.commandCalls(ListTasksCommand).map((c) => [c.args[0].input.nextToken, c.args[0].input.desiredStatus])).toEqual([[undefined, 'RUNNING'], ['a', 'RUNNING'], ['b', 'RUNNING'], ['c', 'RUNNING']]);
    ecs.restore();
  });

  it('lists every cluster page by page', async () => {
    const ecs = mockClient(ECSClient);
    ecs.on(ListClustersCommand).resolvesOnce({ clusterArns: [], nextToken: 'n' }).resolvesOnce({ clusterArns: ['arn:c/prod'] });

    expect(await new EcsTaskInventory(new ECSClient({ region: 'us-east-1' })).listClusters()).toEqual(['arn:c/prod']);
    ecs.restore();
  });

  it('reports throttling as UpstreamThrottledError, for the pass to back off', async () => {
    const ecs = mockClient(ECSClient);
    ecs.on(ListTasksCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(new EcsTaskInventory(new ECSClient({ region: 'us-east-1', maxAttempts: 1 })).listRunningTaskArns('c')).rejects.toBeInstanceOf(UpstreamThrottledError);
    ecs.restore();
  });
});
