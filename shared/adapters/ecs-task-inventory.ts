/**
 * The reconciler's ECS listing: clusters and running task ARNs, every page. A page may be
 * empty while more follow, so paging goes on while `nextToken` is set, whatever the page held.
 */
import { ListClustersCommand, ListTasksCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { TaskInventory } from '../ports.js';
import { translateAwsError } from './aws-errors.js';

export class EcsTaskInventory implements TaskInventory {
  constructor(private readonly ecs: ECSClient) {}

  async listClusters(): Promise<string[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.ecs.send(new ListClustersCommand({ nextToken })).catch((e: unknown) => translateAwsError(e, 'ecs:ListClusters'));
      arns.push(...(page.clusterArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return arns;
  }

  async listRunningTaskArns(clusterArn: string): Promise<string[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.ecs
        .send(new ListTasksCommand({ cluster: clusterArn, desiredStatus: 'RUNNING', maxResults: 100, nextToken }))
        .catch((e: unknown) => {
          if ((e as { name?: string }).name === 'ClusterNotFoundException') return { taskArns: [], nextToken: undefined };
          return translateAwsError(e, 'ecs:ListTasks');
        });
      arns.push(...(page.taskArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return arns;
  }
}
