/**
 * moto's DescribeTasks has no `version`, which real ECS reports with every task. The local
 * event source is what numbers the local tasks' events, so it fills the field in, as ECS would,
 * for the tasks it has reported (tests and tools that build their own events stay unbounded).
 */
import type { ECSClient, Task } from '@aws-sdk/client-ecs';

export function reportTaskVersions(ecs: ECSClient, versionOf: (taskArn: string) => number | undefined): void {
  ecs.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName !== 'DescribeTasksCommand') return result;
      for (const task of ((result.output as { tasks?: Task[] }).tasks ?? [])) {
        const version = task.taskArn ? versionOf(task.taskArn) : undefined;
        if (task.version === undefined && version !== undefined) task.version = version;
      }
      return result;
    },
    { step: 'initialize', name: 'reportTaskVersions' },
  );
}
