/**
 * Resolves a running task's identity and requested group, evaluates policy, then renders the
 * task's WorkloadEntry and validates it against the Istio CRD (docs/architecture.md#policy,
 * #enrollment). Returns the decision as data, the validated entry with an admission, so
 * task-events, the reconciler, the exchange and explain admit exactly the tasks whose entry can be
 * written; only infrastructure failures throw.
 */
import { REASONS } from '../core/reasons.js';
import type { EcsTaskDescription, TaskIdentity, TaskStateChangeEvent } from '../core/task.js';
import { clusterNameFromArn, parseArn, taskIdFromArn } from '../core/task.js';
import type { ObjectRef, WorkloadEntry, WorkloadGroup } from '../core/kubernetes-types.js';
import { entryLabels, type DroppedLabel } from '../core/task-labels.js';
import { buildWorkloadEntry, requestedWorkloadGroup } from '../core/workload-entry.js';
import { describeNetworkAddress, needsVpc, NO_MESH_NETWORKS, resolveNetwork, type AddressHolder, type NetworkAddress } from '../core/networks.js';
import type { DecisionDeps } from './deps.js';
import { evaluateAccess, type PolicyVerdict } from './evaluate-access.js';

/**
 * What a decision needs from the task's event (or, without one, from the described task).
 * `taskId` names the entry; `version` is the one it is stamped with: the event's, or the reconciler's fence.
 */
export type DecisionContext = Pick<TaskStateChangeEvent, 'account' | 'region' | 'clusterName' | 'availabilityZone' | 'privateIpv4' | 'taskId' | 'version'>;

/** The context of a described task, for callers that have no event (the reconciler, the exchange, explain). */
export function contextOfTask(task: Pick<EcsTaskDescription, 'taskArn' | 'clusterArn' | 'availabilityZone' | 'privateIpv4' | 'version'>): DecisionContext {
  const arn = parseArn(task.taskArn);
  return { account: arn?.accountId ?? '', region: arn?.region ?? '', clusterName: clusterNameFromArn(task.clusterArn) ?? '', availabilityZone: task.availabilityZone, privateIpv4: task.privateIpv4, taskId: taskIdFromArn(task.taskArn) ?? task.taskArn.split('/').pop() ?? '', version: task.version ?? 0 };
}

/**
 * The deployment label of an entry rendered by a caller that never writes one (explain, the
 * exchange), whose deps name no deployment. Any label value renders the same verdict
 * (deploymentLabelValue always gives one), so the entry it validates is valid exactly when the
 * one task-events writes is.
 */
const UNWRITTEN_DEPLOYMENT = 'not-written';

/** Every refusal the decision gives: the exchange maps each to one of its codes (exchange-token.ts). */
export type RefusalReason =
  | typeof REASONS.NO_TASK_ROLE
  | typeof REASONS.NO_WORKLOAD_GROUP_TAG
  | typeof REASONS.TASK_ROLE_OTHER_ACCOUNT
  | typeof REASONS.TASK_ROLE_NOT_FOUND
  | typeof REASONS.INVALID_WORKLOAD_GROUP_TAG
  | typeof REASONS.NETWORK_MODE_UNSUPPORTED
  | typeof REASONS.NO_PRIVATE_IP
  | typeof REASONS.WORKLOAD_GROUP_NOT_FOUND
  | typeof REASONS.POLICY_DENIED
  | typeof REASONS.ENTRY_INVALID
  | typeof REASONS.ADDRESS_IN_USE;

export type EnrollmentDecision =
  | {
      outcome: 'enrolled';
      identity: TaskIdentity;
      group: WorkloadGroup;
      address: string;
      /** The task's WorkloadEntry, valid against the Istio CRD: what task-events and the reconciler apply. */
      entry: WorkloadEntry;
      /** The address and network the entry takes: what task-events and the reconciler claim before they apply it. */
      claim: NetworkAddress;
      /** The task label tags the entry's labels leave out (entryLabels). */
      droppedLabels: DroppedLabel[];
      policy: string;
      rule: number;
      trace: PolicyVerdict[];
    }
  | { outcome: 'rejected' | 'ignored'; reason: RefusalReason; detail: string; roleArn?: string; group?: ObjectRef; identity?: TaskIdentity; trace?: PolicyVerdict[] };

type RefusalExtra = { roleArn?: string; group?: ObjectRef; identity?: TaskIdentity; trace?: PolicyVerdict[] };

const refuseEnrollment = (reason: RefusalReason, detail: string, extra: RefusalExtra = {}): EnrollmentDecision => ({
  outcome: reason === REASONS.NO_WORKLOAD_GROUP_TAG ? 'ignored' : 'rejected',
  reason,
  detail,
  ...extra,
});

/** Why a task whose address another holds is refused: the decision's words, and a writer's that lost the claim. */
export function addressInUse(at: NetworkAddress, holder: AddressHolder): { reason: typeof REASONS.ADDRESS_IN_USE; detail: string } {
  return {
    reason: REASONS.ADDRESS_IN_USE,
    detail: `${describeNetworkAddress(at)} is held by task ${holder.taskId} (${holder.taskArn}, since ${holder.claimedAt}); the reconciler enrolls this task once that task leaves`,
  };
}

/** Decides whether a RUNNING task joins the mesh; `now` judges whether an address's claim still holds. */
export async function decideEnrollment(
  event: DecisionContext,
  task: EcsTaskDescription,
  deps: DecisionDeps & { deployment?: string },
  now: Date = new Date(),
): Promise<EnrollmentDecision> {
  const definition = await deps.tasks.describeTaskDefinition(task.taskDefinitionArn);
  // RunTask's override wins over the task definition (docs/architecture.md#policy).
  const roleArn = task.overrideTaskRoleArn ?? definition.taskRoleArn;
  if (!roleArn) {
    const request = requestedWorkloadGroup(task.tags, {});
    return request.found
      ? refuseEnrollment(REASONS.NO_TASK_ROLE, 'the task has no IAM task role, so its identity cannot be established')
      : refuseEnrollment(REASONS.NO_WORKLOAD_GROUP_TAG, 'no ecsmesh.io/workload-group tag on the task (and it has no role)');
  }
  // A task role is the task's account's (ECS assumes it there). A definition naming another
  // account's role must not be judged by that role's tags, which its own account writes.
  const taskAccount = parseArn(task.taskArn)?.accountId ?? event.account;
  const roleAccount = parseArn(roleArn)?.accountId;
  if (roleAccount !== undefined && roleAccount !== taskAccount)
    return refuseEnrollment(REASONS.TASK_ROLE_OTHER_ACCOUNT, `task role ${roleArn} is in account ${roleAccount}, not the task's account ${taskAccount}`, { roleArn });
  const role = await deps.roles.getRole(roleArn);
  if (!role) return refuseEnrollment(REASONS.TASK_ROLE_NOT_FOUND, `IAM role ${roleArn} does not exist`, { roleArn });

  const request = requestedWorkloadGroup(task.tags, role.tags);
  if (!request.found) return refuseEnrollment(REASONS.NO_WORKLOAD_GROUP_TAG, 'no ecsmesh.io/workload-group tag on the task or its role', { roleArn });
  if ('invalid' in request) return refuseEnrollment(REASONS.INVALID_WORKLOAD_GROUP_TAG, `${request.source} tag: ${request.invalid}`, { roleArn });
  const groupRef = request.ref;

  if (definition.networkMode !== 'awsvpc')
    return refuseEnrollment(REASONS.NETWORK_MODE_UNSUPPORTED, `network mode ${definition.networkMode} gives the task no address of its own; only awsvpc tasks can join the mesh`, { roleArn, group: groupRef });
  const address = task.privateIpv4 ?? event.privateIpv4;
  if (!address) return refuseEnrollment(REASONS.NO_PRIVATE_IP, 'the task has no ENI with a private IPv4 address', { roleArn, group: groupRef });

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
  if (!access.allowed) return refuseEnrollment(access.reason, access.detail, { roleArn, group: groupRef, identity, trace: access.trace });
  // Without given labels evaluateAccess read the group, so it is there.
  const group = access.group!;
  const networks = deps.networks ?? NO_MESH_NETWORKS;
  const vpcId = needsVpc(networks) && task.subnetId ? await deps.subnets?.vpcOf(task.subnetId, taskAccount, identity.partition) : undefined;
  const { network } = resolveNetwork(networks, { ...(vpcId ? { vpcId } : {}), accountId: taskAccount }, group.spec.template?.network);
  const entry = buildWorkloadEntry({
    group,
    taskId: event.taskId,
    taskArn: task.taskArn,
    clusterArn: task.clusterArn,
    taskDefinitionArn: task.taskDefinitionArn,
    eventVersion: event.version,
    address,
    region: identity.region,
    zone: identity.zone,
    taskTags: task.tags,
    deployment: deps.deployment ?? UNWRITTEN_DEPLOYMENT,
    ...(network !== undefined ? { network } : {}),
  });
  // Loaded at the first decision that gets this far, so a cold start does not evaluate the CRD
  // schemas and the CEL library (as the Kubernetes mesh adapter loads it).
  const { validateWorkloadEntry } = await import('../core/workload-entry-validation.js');
  const checked = validateWorkloadEntry(entry);
  if (!checked.ok) return refuseEnrollment(REASONS.ENTRY_INVALID, `WorkloadEntry fails the Istio CRD schema: ${checked.problems.join('; ')}`, { roleArn, group: groupRef, identity, trace: access.trace });
  // Last: the one check whose answer changes when another task leaves (the reconciler asks again).
  const claim: NetworkAddress = { network: network ?? '', address };
  const holder = await deps.addresses?.heldByAnother(claim, event.taskId, now);
  if (holder) {
    const clash = addressInUse(claim, holder);
    return refuseEnrollment(clash.reason, clash.detail, { roleArn, group: groupRef, identity, trace: access.trace });
  }
  const { dropped } = entryLabels(group, task.tags);
  return { outcome: 'enrolled', identity, group, address, entry, claim, droppedLabels: dropped, policy: access.policy, rule: access.rule, trace: access.trace };
}
