/**
 * ECS reads in the task's own account: ECS answers DescribeTasks and DescribeTaskDefinition only
 * for the caller's account, so a member account's task is read through the role the control plane
 * assumes there (CROSS_ACCOUNT_ROLE_NAME, deploy/member-account-role.yaml).
 */
import type { EcsTaskDescription, TaskDefinitionFacts } from '../core/task.js';
import type { TaskDirectory } from '../ports.js';

const ECS_ARN = /^arn:([^:]+):ecs:[^:]*:(\d{12}):/;

/** Routes each read to the directory of the account its ARN names; a short name is ours. */
export class AccountRoutedTaskDirectory implements TaskDirectory {
  private readonly byAccount = new Map<string, Promise<TaskDirectory>>();

  constructor(
    private readonly own: TaskDirectory,
    private readonly directoryFor: (accountId: string, partition: string) => Promise<TaskDirectory>,
  ) {}

  async describeTasks(clusterArn: string, taskArns: string[]): Promise<Map<string, EcsTaskDescription>> {
    return (await this.route(ECS_ARN.test(clusterArn) ? clusterArn : (taskArns[0] ?? ''))).describeTasks(clusterArn, taskArns);
  }

  async describeTaskDefinition(taskDefinitionArn: string): Promise<TaskDefinitionFacts> {
    return (await this.route(taskDefinitionArn)).describeTaskDefinition(taskDefinitionArn);
  }

  private route(arn: string): Promise<TaskDirectory> {
    const m = ECS_ARN.exec(arn);
    if (!m) return Promise.resolve(this.own);
    const [, partition = 'aws', accountId = ''] = m;
    let directory = this.byAccount.get(accountId);
    if (!directory) {
      directory = this.directoryFor(accountId, partition);
      // A failed AssumeRole is not kept: the next read tries again.
      directory.catch(() => this.byAccount.delete(accountId));
      this.byAccount.set(accountId, directory);
    }
    return directory;
  }
}
