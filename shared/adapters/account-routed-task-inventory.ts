/**
 * The reconciler's listing over the hub and its member accounts (docs/multi-account.md#hub-and-spoke): our
 * clusters, then each member's, listed through the role assumed there; a cluster's tasks are
 * listed in the account its ARN names. A member that cannot be listed (its role missing or not
 * trusting us) costs only its own clusters: the pass goes on, and its tasks known from our
 * entries and records are left unjudged when they cannot be described either.
 */
import type { Log, TaskInventory } from '../ports.js';
import { AccountRouter } from './account-router.js';

export class AccountRoutedTaskInventory implements TaskInventory {
  private readonly router: AccountRouter<TaskInventory>;

  constructor(
    private readonly own: TaskInventory,
    private readonly members: readonly { accountId: string; partition: string }[],
    inventoryFor: (accountId: string, partition: string) => Promise<TaskInventory>,
    private readonly log: Log,
  ) {
    this.router = new AccountRouter(own, inventoryFor);
  }

  async listClusters(): Promise<string[]> {
    const arns = [...(await this.own.listClusters())];
    for (const { accountId, partition } of this.members) {
      try {
        arns.push(...(await (await this.router.forAccount(accountId, partition)).listClusters()));
      } catch (error) {
        this.log.error("could not list a member account's clusters; the next pass tries again", { accountId, error: (error as Error).message });
      }
    }
    return arns;
  }

  async listRunningTaskArns(clusterArn: string): Promise<string[]> {
    return (await this.router.forArn(clusterArn)).listRunningTaskArns(clusterArn);
  }
}
