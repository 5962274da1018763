/**
 * Proves the caller is the task it claims to be (docs/architecture.md#exchange). STS's
 * answer alone proves only "some session of a role with this name". In two steps:
 * - `checkCallerClaim` (no calls): the caller is an assumed role of an allowed account, in the
 *   task's partition and account, whose session is named after the claimed task (ECS names
 *   task-role sessions after the task id). Only a caller that passes may spend a per-task budget.
 * - `verifyTaskCaller`: the role is looked up now and its RoleId compared (a role deleted and
 *   recreated under the same name is another principal), and ECS must describe exactly the
 *   claimed task (partition, region, account, cluster, id) as starting or running.
 * `describeClaimedTask` may run while STS is still proving the caller (it only reads), but only
 * for a task of this region and an allowed account, and its answer is used only by
 * `verifyTaskCaller`, after STS and `checkCallerClaim` have passed.
 */
import { exchangeRefusal, type ExchangeRefusal } from '../core/exchange.js';
import { parseAssumedRole } from '../core/onboarding-token.js';
import { EXCHANGE_REASONS, type ExchangeReason } from '../core/reasons.js';
import { partitionOfRegion } from '../core/sts-endpoint.js';
import type { EcsTaskDescription, RoleFacts } from '../core/task.js';
import { clusterNameFromTaskArn, describedTaskMismatch, isLive, parseArn, taskLiveness } from '../core/task.js';
import type { CallerIdentity, RoleDirectory, TaskDirectory } from '../ports.js';

/** A refusal names the `caller` once STS's answer is an assumed role, so its role can answer for it. */
export type CheckedClaim = { ok: true; caller: AssumedRoleCaller } | (ExchangeRefusal & { caller?: AssumedRoleCaller });
export type VerifiedCaller = { ok: true; role: RoleFacts; task: EcsTaskDescription } | ExchangeRefusal;

export interface AssumedRoleCaller {
  partition: string;
  account: string;
  roleName: string;
  session: string;
  /** The STS ARN (`…:assumed-role/<role>/<session>`): the key of the caller's own budget. */
  arn: string;
  /** The role's IAM ARN (`…:role/<role>`, without its path): the same for all its sessions. */
  roleArn: string;
}

/** Which tasks the exchange may serve: those of this region and of the allowed accounts it can read. */
export interface AccountScope {
  region: string;
  allowedAccounts: readonly string[];
  /**
   * Allowed accounts whose tasks and roles this deployment cannot read: another account's while no
   * CROSS_ACCOUNT_ROLE_NAME is set (ECS and IAM would answer AccessDenied, or a same-named role of ours).
   */
  unreadableAccounts: readonly string[];
}

/** What STS's answer proves about the caller, checked against the claimed task without any call. */
export function checkCallerClaim(identity: CallerIdentity, claimed: { taskArn: string; taskId: string }, scope: AccountScope): CheckedClaim {
  const { region } = scope;
  const assumed = parseAssumedRole(identity.arn);
  if (!assumed) return exchangeRefusal(EXCHANGE_REASONS.PRINCIPAL_TYPE, 'the caller is not an assumed IAM role (task roles are)');
  const caller: AssumedRoleCaller = { ...assumed, arn: identity.arn, roleArn: `arn:${assumed.partition}:iam::${assumed.account}:role/${assumed.roleName}` };
  const refuseCaller = (reason: ExchangeReason, detail: string): CheckedClaim => ({ ...exchangeRefusal(reason, detail), caller });
  if (!scope.allowedAccounts.includes(assumed.account)) return refuseCaller(EXCHANGE_REASONS.ACCOUNT_NOT_ALLOWED, `account ${assumed.account} may not use this exchange`);
  if (scope.unreadableAccounts.includes(assumed.account))
    return refuseCaller(EXCHANGE_REASONS.ACCOUNT_NOT_ALLOWED, `account ${assumed.account} is allowed, but this deployment has no cross-account role to read its tasks and roles there (set crossAccountRoleName, or name its reader role in memberRoleNames)`);
  const taskArn = parseArn(claimed.taskArn);
  if (!taskArn || taskArn.accountId !== assumed.account) return refuseCaller(EXCHANGE_REASONS.ACCOUNT_NOT_ALLOWED, 'the task is not in the caller’s account');
  if (taskArn.partition !== assumed.partition) return refuseCaller(EXCHANGE_REASONS.ACCOUNT_NOT_ALLOWED, `the task is in partition ${taskArn.partition}, the caller in ${assumed.partition}`);
  // ECS is asked in this deployment's region only: a claim elsewhere is refused before any call.
  if (taskArn.region !== region) return refuseCaller(EXCHANGE_REASONS.TASK_ARN_MISMATCH, `the task ARN names region ${taskArn.region}; this deployment serves ${region}`);
  if (assumed.session !== claimed.taskId) return refuseCaller(EXCHANGE_REASONS.SESSION_MISMATCH, 'the role session is not this task’s (ECS names it after the task id)');
  return { ok: true, caller };
}

/**
 * The account whose task ECS is asked about for this claim: an allowed account this deployment
 * can read, in its partition and region; `undefined` when ECS is asked nothing.
 */
export function describableAccount(claimed: { taskArn: string }, scope: AccountScope): string | undefined {
  const { region } = scope;
  const arn = parseArn(claimed.taskArn);
  if (!arn || arn.region !== region || arn.partition !== partitionOfRegion(region) || !scope.allowedAccounts.includes(arn.accountId) || scope.unreadableAccounts.includes(arn.accountId)) return undefined;
  return arn.accountId;
}

/**
 * DescribeTasks for the claimed task, or `undefined` without any call when the claim names another
 * partition or region than this deployment's, or an account that may not use the exchange or that
 * it cannot read (checkCallerClaim refuses those anyway).
 */
export function describeClaimedTask(claimed: { taskArn: string; taskId: string }, scope: AccountScope, tasks: TaskDirectory): Promise<EcsTaskDescription | undefined> | undefined {
  const account = describableAccount(claimed, scope);
  if (!account) return undefined;
  const { region } = scope;
  // Long task ARNs name their cluster; the old short form lives in the default cluster.
  const cluster = clusterNameFromTaskArn(claimed.taskArn) ?? 'default';
  const clusterArn = `arn:${partitionOfRegion(region)}:ecs:${region}:${account}:cluster/${cluster}`;
  return tasks.describeTasks(clusterArn, [claimed.taskArn]).then((found) => found.get(claimed.taskId));
}

/** Checks the caller against IAM, and the task ECS described (`described`), for the task named in the request. */
export async function verifyTaskCaller(
  caller: AssumedRoleCaller,
  claimed: { taskArn: string; taskId: string },
  userId: string,
  roles: RoleDirectory,
  described: Promise<EcsTaskDescription | undefined>,
): Promise<VerifiedCaller> {
  const role = await roles.getRole(caller.roleArn);
  const sessionRoleId = userId.split(':')[0];
  if (!role || role.roleId !== sessionRoleId) return exchangeRefusal(EXCHANGE_REASONS.ROLE_MISMATCH, `role ${caller.roleName} is not the role that signed (its RoleId differs, or it is gone)`);

  const task = await described;
  if (!task) return exchangeRefusal(EXCHANGE_REASONS.TASK_NOT_RUNNING, 'ECS does not know this task');
  const mismatch = describedTaskMismatch(claimed.taskArn, clusterNameFromTaskArn(claimed.taskArn) ?? 'default', task);
  if (mismatch) return exchangeRefusal(EXCHANGE_REASONS.TASK_ARN_MISMATCH, `ECS describes this task id elsewhere: ${mismatch}`);
  // Starting or running, as task-events and the reconciler read the statuses (taskLiveness).
  if (!isLive(taskLiveness(task)))
    return exchangeRefusal(EXCHANGE_REASONS.TASK_NOT_RUNNING, `the task is ${task.lastStatus} (desired ${task.desiredStatus})`);
  return { ok: true, role, task };
}
