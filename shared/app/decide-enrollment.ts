/**
 * Resolves a running task's identity and requested group, then evaluates policy
 * (docs/architecture.md#policy, #enrollment). Returns the decision as data; only infrastructure failures throw.
 */
import { REASONS, type Reason } from '../core/reasons.js';
import type { EcsTaskDescription, TaskIdentity, TaskStateChangeEvent } from '../core/task.js';
import { clusterNameFromArn, parseArn } from '../core/task.js';
import type { ObjectRef, WorkloadGroup } from '../core/kubernetes-types.js';
import { entryLabels, type DroppedLabel } from '../core/task-labels.js';
import { requestedWorkloadGroup } from '../core/workload-entry.js';
import type { DecisionDeps } from './deps.js';
import { evaluateAccess, type PolicyVerdict } from './evaluate-access.js';

/** What a decision needs from the task's event (or, without one, from the described task). */
export type DecisionContext = Pick<TaskStateChangeEvent, 'account' | 'region' | 'clusterName' | 'availabilityZone' | 'privateIpv4'>;

/** The context of a described task, for callers that have no event (the exchange, explain). */
export function contextOfTask(task: Pick<EcsTaskDescription, 'taskArn' | 'clusterArn' | 'availabilityZone' | 'privateIpv4'>): DecisionContext {
  const arn = parseArn(task.taskArn);
  return { account: arn?.accountId ?? '', region: arn?.region ?? '', clusterName: clusterNameFromArn(task.clusterArn) ?? '', availabilityZone: task.availabilityZone, privateIpv4: task.privateIpv4 };
}

export type EnrollmentDecision =
  | {
      outcome: 'enrolled';
      identity: TaskIdentity;
      group: WorkloadGroup;
      address: string;
      taskTags: Record<string, string>;
      /** The entry's labels, and the task label tags left out of them (entryLabels). */
      labels: Record<string, string>;
      droppedLabels: DroppedLabel[];
      policy: string;
      rule: number;
      trace: PolicyVerdict[];
    }
  | { outcome: 'rejected' | 'ignored'; reason: Reason; detail: string; roleArn?: string; group?: ObjectRef; identity?: TaskIdentity; trace?: PolicyVerdict[] };

type RefusalExtra = { roleArn?: string; group?: ObjectRef; identity?: TaskIdentity; trace?: PolicyVerdict[] };

const refuse = (reason: Reason, detail: string, extra: RefusalExtra = {}): EnrollmentDecision => ({
  outcome: reason === REASONS.NO_WORKLOAD_GROUP_TAG ? 'ignored' : 'rejected',
  reason,
  detail,
  ...extra,
});

/** Decides whether a RUNNING task joins the mesh. */
export async function decideEnrollment(
  event: DecisionContext,
  task: EcsTaskDescription,
  deps: DecisionDeps,
): Promise<EnrollmentDecision> {
  const definition = await deps.tasks.describeTaskDefinition(task.taskDefinitionArn);
  // RunTask's override wins over the task definition (docs/architecture.md#policy).
  const roleArn = task.overrideTaskRoleArn ?? definition.taskRoleArn;
  if (!roleArn) {
    const request = requestedWorkloadGroup(task.tags, {});
    return request.found
      ? refuse(REASONS.NO_TASK_ROLE, 'the task has no IAM task role, so its identity cannot be established')
      : refuse(REASONS.NO_WORKLOAD_GROUP_TAG, 'no ecsmesh.io/workload-group tag on the task (and it has no role)');
  }
  // A task role is the task's account's (ECS assumes it there). A definition naming another
  // account's role must not be judged by that role's tags, which its own account writes.
  const taskAccount = parseArn(task.taskArn)?.accountId ?? event.account;
  const roleAccount = parseArn(roleArn)?.accountId;
  if (roleAccount !== undefined && roleAccount !== taskAccount)
    return refuse(REASONS.TASK_ROLE_OTHER_ACCOUNT, `task role ${roleArn} is in account ${roleAccount}, not the task's account ${taskAccount}`, { roleArn });
  const role = await deps.roles.getRole(roleArn);
  if (!role) return refuse(REASONS.TASK_ROLE_NOT_FOUND, `IAM role ${roleArn} does not exist`, { roleArn });

  const request = requestedWorkloadGroup(task.tags, role.tags);
  if (!request.found) return refuse(REASONS.NO_WORKLOAD_GROUP_TAG, 'no ecsmesh.io/workload-group tag on the task or its role', { roleArn });
  if ('invalid' in request) return refuse(REASONS.INVALID_WORKLOAD_GROUP_TAG, `${request.source} tag: ${request.invalid}`, { roleArn });
  const groupRef = request.ref;

  if (definition.networkMode !== 'awsvpc')
    return refuse(REASONS.NETWORK_MODE_UNSUPPORTED, `network mode ${definition.networkMode} gives the task no address of its own; only awsvpc tasks can join the mesh`, { roleArn, group: groupRef });
  const address = task.privateIpv4 ?? event.privateIpv4;
  if (!address) return refuse(REASONS.NO_PRIVATE_IP, 'the task has no ENI with a private IPv4 address', { roleArn, group: groupRef });

  const arn = parseArn(task.taskArn);
  const identity: TaskIdentity = {
    partition: arn?.partition ?? 'aws',
    accountId: taskAccount,
    region: arn?.region ?? event.region,
    zone: task.availabilityZone ?? event.availabilityZone,
    clusterName: event.clusterName,
    clusterArn: task.clusterArn,
    launchType: task.launchType,
    role,
  };

  const access = await evaluateAccess(identity, groupRef, deps);
  if (!access.allowed) return refuse(access.reason, access.detail, { roleArn, group: groupRef, identity, trace: access.trace });
  // Without given labels evaluateAccess read the group, so it is there.
  const group = access.group!;
  const { labels, dropped } = entryLabels(group, task.tags);
  return { outcome: 'enrolled', identity, group, address, taskTags: task.tags, labels, droppedLabels: dropped, policy: access.policy, rule: access.rule, trace: access.trace };
}
