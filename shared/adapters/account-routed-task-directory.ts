/**
 * ECS reads in the task's own account: ECS answers DescribeTasks and DescribeTaskDefinition only
 * for the caller's account, so a member account's task is read through the role the control plane
 * assumes there (CROSS_ACCOUNT_ROLE_NAME or MEMBER_ROLE_NAMES, deploy/member-account-role.yaml).
 */
import type { EcsTaskDescription, TaskDefinitionFacts } from '../core/task.js';
import type { TaskDirectory } from '../ports.js';
import { AccountRouter } from './account-router.js';

/** Routes each read to the directory of the account its ARN names; a short name is ours. */
export class AccountRoutedTaskDirectory implements TaskDirectory {
  private readonly router: AccountRouter<TaskDirectory>;

  constructor(own: TaskDirectory, directoryFor: (accountId: string, partition: string) => Promise<TaskDirectory>) {
    this.router = new AccountRouter(own, directoryFor);
  }

  async describeTasks(clusterArn: string, taskArns: string[]): Promise<Map<string, EcsTaskDescription>> {
    return (await this.router.forArn(AccountRouter.namesAccount(clusterArn) ? clusterArn : (taskArns[0] ?? ''))).describeTasks(clusterArn, taskArns);
  }

  async describeTaskDefinition(taskDefinitionArn: string): Promise<TaskDefinitionFacts> {
    return (await this.router.forArn(taskDefinitionArn)).describeTaskDefinition(taskDefinitionArn);
  }
}
