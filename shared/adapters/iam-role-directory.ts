/**
 * IAM role reads in the role's own account. Tags are cached keyed by the role's unique id
 * (RoleId), never by name alone: a role deleted and recreated under the same name is another
 * principal and must not inherit the old one's tags (docs/architecture.md#policy).
 */
import { GetRoleCommand, NoSuchEntityException, type IAMClient } from '@aws-sdk/client-iam';
import type { RoleFacts } from '../core/task.js';
import { parseArn, roleNameFromArn } from '../core/task.js';
import type { RoleDirectory } from '../ports.js';
import { translateAwsError } from './aws-errors.js';
import { ExpiringCache } from './expiring-cache.js';

export class IamRoleDirectory implements RoleDirectory {
  private readonly roleIds: ExpiringCache<string | undefined>;
  private readonly byRoleId = new Map<string, RoleFacts>();

  /** `clientFor` returns an IAM client for the role's account (same-account or assumed). */
  constructor(
    private readonly clientFor: (accountId: string, partition: string) => Promise<IAMClient>,
    ttlMs: number,
    now: () => number = Date.now,
  ) {
    this.roleIds = new ExpiringCache(ttlMs, now);
  }

  async getRole(roleArn: string): Promise<RoleFacts | undefined> {
    // The ARN resolves to a RoleId (one GetRole, shared by concurrent callers); tags are kept
    // per RoleId, so a recreated role with the same name never inherits the old one's tags.
    const roleId = await this.roleIds.getOrLoad(roleArn, async () => {
      const facts = await this.fetch(roleArn);
      if (facts) this.byRoleId.set(facts.roleId, facts);
      return facts?.roleId;
    });
    // A missing role is not kept: it may be created a moment later.
    if (roleId === undefined) this.roleIds.delete(roleArn);
    return roleId === undefined ? undefined : this.byRoleId.get(roleId);
  }

  private async fetch(roleArn: string): Promise<RoleFacts | undefined> {
    const arn = parseArn(roleArn);
    const name = roleNameFromArn(roleArn);
    if (!arn || !name) return undefined;
    const iam = await this.clientFor(arn.accountId, arn.partition);
    try {
      const out = await iam.send(new GetRoleCommand({ RoleName: name }));
      const role = out.Role;
      if (!role?.RoleId || !role.Arn) return undefined;
      // GetRole asks by name in whatever account the client is in: a same-named role of another
      // account is another principal and must never lend its tags to this one.
      if (parseArn(role.Arn)?.accountId !== arn.accountId) return undefined;
      // fromEntries keeps a tag named __proto__, which assignment would drop.
      const tags: Record<string, string> = Object.fromEntries((role.Tags ?? []).flatMap((tag) => (tag.Key ? [[tag.Key, tag.Value ?? '']] : [])));
      return { arn: role.Arn, name, roleId: role.RoleId, accountId: arn.accountId, tags };
    } catch (error) {
      if (error instanceof NoSuchEntityException || (error as { name?: string }).name === 'NoSuchEntity' || (error as { name?: string }).name === 'NoSuchEntityException') return undefined;
      translateAwsError(error, 'iam:GetRole');
    }
  }
}
