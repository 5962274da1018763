/**
 * Proves the caller is the task it claims to be (docs/architecture.md#exchange). STS's answer alone proves only
 * "some session of a role with this name": the role is looked up now and its RoleId compared
 * (a role deleted and recreated under the same name is another principal), the session name
 * must be the task's id (ECS names task-role sessions after the task), and ECS must say that
 * task is starting or running, with that very role.
 */
import { parseAssumedRole } from '../core/onboarding-token.js';
import { EXCHANGE_REASONS, type ExchangeReason } from '../core/reasons.js';
import type { EcsTaskDescription, RoleFacts } from '../core/task.js';
import { clusterNameFromArn, parseArn } from '../core/task.js';
import type { CallerIdentity, RoleDirectory, TaskDirectory } from '../ports.js';

const LIVE_STATUSES = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING']);

export type VerifiedCaller = { ok: true; role: RoleFacts; task: EcsTaskDescription } | { ok: false; reason: ExchangeReason; detail: string };

const refuse = (reason: ExchangeReason, detail: string): VerifiedCaller => ({ ok: false, reason, detail });

/** Checks the STS identity against IAM and ECS for the task named in the request. */
export async function verifyTaskCaller(
  caller: CallerIdentity,
  claimed: { taskArn: string; taskId: string },
  allowedAccounts: readonly string[],
  deps: { roles: RoleDirectory; tasks: TaskDirectory },
): Promise<VerifiedCaller> {
  const assumed = parseAssumedRole(caller.arn);
  if (!assumed) return refuse(EXCHANGE_REASONS.PRINCIPAL_TYPE, 'the caller is not an assumed IAM role (task roles are)');
  if (!allowedAccounts.includes(assumed.account)) return refuse(EXCHANGE_REASONS.ACCOUNT_NOT_ALLOWED, `account ${assumed.account} may not use this exchange`);
  const taskArn = parseArn(claimed.taskArn);
  if (!taskArn || taskArn.accountId !== assumed.account) return refuse(EXCHANGE_REASONS.ACCOUNT_NOT_ALLOWED, 'the task is not in the caller’s account');

  const role = await deps.roles.getRole(`arn:${assumed.partition}:iam::${assumed.account}:role/${assumed.roleName}`);
  const sessionRoleId = caller.userId.split(':')[0];
  if (!role || role.roleId !== sessionRoleId) return refuse(EXCHANGE_REASONS.ROLE_MISMATCH, `role ${assumed.roleName} is not the role that signed (its RoleId differs, or it is gone)`);
  if (assumed.session !== claimed.taskId) return refuse(EXCHANGE_REASONS.SESSION_MISMATCH, 'the role session is not this task’s (ECS names it after the task id)');

  // Long task ARNs name their cluster; the old short form lives in the default cluster.
  const cluster = claimed.taskArn.split('/').length === 3 ? claimed.taskArn.split('/')[1]! : 'default';
  const clusterArn = `arn:${taskArn.partition}:ecs:${taskArn.region}:${taskArn.accountId}:cluster/${cluster}`;
  const task = (await deps.tasks.describeTasks(clusterArn, [claimed.taskArn])).get(claimed.taskId);
  if (!task) return refuse(EXCHANGE_REASONS.TASK_NOT_RUNNING, 'ECS does not know this task');
  if (task.desiredStatus !== 'RUNNING' || !LIVE_STATUSES.has(task.lastStatus))
    return refuse(EXCHANGE_REASONS.TASK_NOT_RUNNING, `the task is ${task.lastStatus} (desired ${task.desiredStatus})`);
  if (!clusterNameFromArn(task.clusterArn)) return refuse(EXCHANGE_REASONS.TASK_NOT_RUNNING, 'the task has no cluster');
  return { ok: true, role, task };
}
