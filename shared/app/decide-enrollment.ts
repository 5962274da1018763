/**
 * Resolves a running task's identity and requested group, then evaluates policy
 * (DESIGN §3–4). Returns the decision as data; only infrastructure failures throw.
 */
import { evaluatePolicy, describeDenial, type EvaluatedPolicy } from '../core/policy.js';
import { REASONS, type Reason } from '../core/reasons.js';
import type { EcsTaskDescription, TaskIdentity, TaskStateChangeEvent } from '../core/task.js';
import { parseArn } from '../core/task.js';
import type { ObjectRef, WorkloadGroup } from '../core/kubernetes-types.js';
import { requestedWorkloadGroup } from '../core/workload-entry.js';
import type { EnrollmentDeps } from './deps.js';

export type EnrollmentDecision =
  | {
      outcome: 'enrolled';
      identity: TaskIdentity;
      group: WorkloadGroup;
      address: string;
      taskTags: Record<string, string>;
      policy: string;
      rule: number;
    }
  | { outcome: 'rejected' | 'ignored'; reason: Reason; detail: string; roleArn?: string; group?: ObjectRef };

const refuse = (reason: Reason, detail: string, extra: { roleArn?: string; group?: ObjectRef } = {}): EnrollmentDecision => ({
  outcome: reason === REASONS.NO_WORKLOAD_GROUP_TAG ? 'ignored' : 'rejected',
  reason,
  detail,
  ...extra,
});

/** Decides whether a RUNNING task joins the mesh. */
export async function decideEnrollment(
  event: TaskStateChangeEvent,
  task: EcsTaskDescription,
  deps: Pick<EnrollmentDeps, 'tasks' | 'roles' | 'policies' | 'mesh'>,
): Promise<EnrollmentDecision> {
  const definition = await deps.tasks.describeTaskDefinition(task.taskDefinitionArn);
  // RunTask's override wins over the task definition (DESIGN §3).
  const roleArn = task.overrideTaskRoleArn ?? definition.taskRoleArn;
  if (!roleArn) {
    const request = requestedWorkloadGroup(task.tags, {});
    return request.found
      ? refuse(REASONS.NO_TASK_ROLE, 'the task has no IAM task role, so its identity cannot be established')
      : refuse(REASONS.NO_WORKLOAD_GROUP_TAG, 'no ecsmesh.io/workload-group tag on the task (and it has no role)');
  }
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
    accountId: arn?.accountId ?? event.account,
    region: arn?.region ?? event.region,
    zone: task.availabilityZone ?? event.availabilityZone,
    clusterName: event.clusterName,
    clusterArn: task.clusterArn,
    launchType: task.launchType,
    role,
  };

  const group = await deps.mesh.getWorkloadGroup(groupRef);
  if (!group) return refuse(REASONS.WORKLOAD_GROUP_NOT_FOUND, `WorkloadGroup ${groupRef.namespace}/${groupRef.name} does not exist in the mesh`, { roleArn, group: groupRef });

  const stored = await deps.policies.listPolicies(groupRef.namespace);
  const policies: EvaluatedPolicy[] = stored.map((p) => (p.valid ? { name: p.name, policy: p.policy } : { name: p.name, problem: p.problem }));
  const decision = evaluatePolicy(policies, identity, {
    namespace: groupRef.namespace,
    name: groupRef.name,
    labels: group.metadata.labels ?? {},
  });
  if (!decision.allowed) return refuse(REASONS.POLICY_DENIED, describeDenial(decision.misses, groupRef.namespace), { roleArn, group: groupRef });
  return { outcome: 'enrolled', identity, group, address, taskTags: task.tags, policy: decision.policy, rule: decision.rule };
}
