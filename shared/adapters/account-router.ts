/**
 * Picks, per ARN, the client of the account it names: ECS answers only for the caller's account,
 * so a member account's clusters and tasks are read through the role the control plane assumes
 * there (deploy/member-account-role.yaml). One per account, made on first use; a failed one
 * (AssumeRole refused) is not kept, so the next read tries again.
 */
const ECS_ARN = /^arn:([^:]+):ecs:[^:]*:(\d{12}):/;

export class AccountRouter<T> {
  private readonly byAccount = new Map<string, Promise<T>>();

  constructor(
    private readonly own: T,
    private readonly make: (accountId: string, partition: string) => Promise<T>,
  ) {}

  /** Whether `arn` is an ECS ARN (one that names its account). */
  static namesAccount(arn: string): boolean {
    return ECS_ARN.test(arn);
  }

  /** The client for the account `arn` names; ours for a short name. */
  forArn(arn: string): Promise<T> {
    const m = ECS_ARN.exec(arn);
    if (!m) return Promise.resolve(this.own);
    const [, partition = 'aws', accountId = ''] = m;
    return this.forAccount(accountId, partition);
  }

  forAccount(accountId: string, partition: string): Promise<T> {
    let client = this.byAccount.get(accountId);
    if (!client) {
      client = this.make(accountId, partition);
      client.catch(() => this.byAccount.delete(accountId));
      this.byAccount.set(accountId, client);
    }
    return client;
  }
}
