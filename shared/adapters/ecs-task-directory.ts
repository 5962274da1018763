/**
 * ECS reads. DescribeTasks is batched (≤ 100 ARNs a call, one call per cluster per batch) with
 * TAGS included; task definitions are cached by ARN because a revision is immutable.
 */
import { DescribeTaskDefinitionCommand, DescribeTasksCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import type { EcsTaskDescription, LaunchType, TaskDefinitionFacts } from '../core/task.js';
import { taskIdFromArn } from '../core/task.js';
import type { TaskDirectory } from '../ports.js';
import { translateAwsError } from './aws-errors.js';
import { ExpiringCache } from './expiring-cache.js';

const MAX_TASKS_PER_CALL = 100;
/** Revisions never change; the bound only limits memory. */
const TASK_DEFINITION_TTL_MS = 24 * 3600 * 1000;

export class EcsTaskDirectory implements TaskDirectory {
  private readonly definitions = new ExpiringCache<TaskDefinitionFacts>(TASK_DEFINITION_TTL_MS);

  constructor(private readonly ecs: ECSClient) {}

  async describeTasks(clusterArn: string, taskArns: string[]): Promise<Map<string, EcsTaskDescription>> {
    const found = new Map<string, EcsTaskDescription>();
    const unique = [...new Set(taskArns)];
    for (let i = 0; i < unique.length; i += MAX_TASKS_PER_CALL) {
      const out = await this.ecs
        .send(new DescribeTasksCommand({ cluster: clusterArn, tasks: unique.slice(i, i + MAX_TASKS_PER_CALL), include: ['TAGS'] }))
        .catch((e: unknown) => {
          // A deleted cluster's tasks are gone too: report them missing instead of retrying forever.
          if ((e as { name?: string }).name === 'ClusterNotFoundException') return { tasks: [] };
          return translateAwsError(e, 'ecs:DescribeTasks');
        });
      for (const task of out.tasks ?? []) {
        const described = toDescription(task);
        const id = described && taskIdFromArn(described.taskArn);
        if (described && id) found.set(id, described);
      }
    }
    return found;
  }

  describeTaskDefinition(taskDefinitionArn: string): Promise<TaskDefinitionFacts> {
    return this.definitions.getOrLoad(taskDefinitionArn, async () => {
      const out = await this.ecs
        .send(new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn }))
        .catch((e: unknown) => translateAwsError(e, 'ecs:DescribeTaskDefinition'));
      const def = out.taskDefinition;
      // ECS's default network mode is bridge on EC2 when none is given.
      return { taskDefinitionArn, networkMode: def?.networkMode ?? 'bridge', ...(def?.taskRoleArn ? { taskRoleArn: def.taskRoleArn } : {}) };
    });
  }
}

const LAUNCH_TYPES: ReadonlySet<string> = new Set(['FARGATE', 'EC2', 'EXTERNAL']);

function toDescription(task: Task): EcsTaskDescription | undefined {
  if (!task.taskArn || !task.clusterArn || !task.taskDefinitionArn) return undefined;
  const eni = task.attachments?.find((a) => a.type === 'ElasticNetworkInterface');
  const ip = eni?.details?.find((d) => d.name === 'privateIPv4Address')?.value;
  const subnetId = eni?.details?.find((d) => d.name === 'subnetId')?.value;
  // fromEntries keeps a tag named __proto__, which assignment would drop.
  const tags: Record<string, string> = Object.fromEntries((task.tags ?? []).flatMap((tag) => (tag.key === undefined ? [] : [[tag.key, tag.value ?? '']])));
  return {
    taskArn: task.taskArn,
    clusterArn: task.clusterArn,
    taskDefinitionArn: task.taskDefinitionArn,
    lastStatus: task.lastStatus ?? 'UNKNOWN',
    desiredStatus: task.desiredStatus ?? 'UNKNOWN',
    launchType: (task.launchType && LAUNCH_TYPES.has(task.launchType) ? task.launchType : 'UNKNOWN') as LaunchType,
    ...(task.availabilityZone ? { availabilityZone: task.availabilityZone } : {}),
    ...(task.overrides?.taskRoleArn ? { overrideTaskRoleArn: task.overrides.taskRoleArn } : {}),
    ...(ip ? { privateIpv4: ip } : {}),
    ...(subnetId ? { subnetId } : {}),
    tags,
    ...(typeof task.version === 'number' ? { version: task.version } : {}),
  };
}
