/**
 * `POST /v1/explain` (docs/architecture.md#policy, #policy-api): would this task, or this identity, be allowed into this
 * group, and why. A task is decided by the very function task-events uses; an identity skips
 * only what a task adds (its network and address) and meets the same policy evaluation.
 */
import { REASONS, type Reason } from '../core/reasons.js';
import type { LaunchType, RoleFacts, TaskIdentity } from '../core/task.js';
import { parseArn, taskIdFromArn } from '../core/task.js';
import type { ObjectRef } from '../core/kubernetes-types.js';
import type { DroppedLabel } from '../core/task-labels.js';
import { requestedWorkloadGroup, WORKLOAD_GROUP_TAG } from '../core/workload-entry.js';
import type { DecisionDeps } from './deps.js';
import { contextOfTask, decideEnrollment } from './decide-enrollment.js';
import { evaluateAccess, type PolicyVerdict } from './evaluate-access.js';

export type ExplainDeps = DecisionDeps;

/** Where and as whom a task would run; tags given for the role are used instead of IAM's. */
export interface IdentityFacts {
  partition: string;
  account: string;
  region: string;
  zone?: string;
  cluster: string;
  launchType?: LaunchType;
  role: { arn: string; tags?: Record<string, string> };
}

export interface ExplainRequest {
  subject: { taskArn: string; clusterName: string } | { identity: IdentityFacts };
  /** For a task: instead of its tag. For an identity: else its role's tag. */
  group?: ObjectRef;
  /** Evaluate against these labels instead of the WorkloadGroup's (identities only). */
  groupLabels?: Record<string, string>;
}

export interface Explanation {
  allowed: boolean;
  outcome: 'enrolled' | 'rejected' | 'ignored';
  reason: Reason;
  detail: string;
  policy?: string;
  rule?: number;
  group?: ObjectRef & { labels?: Record<string, string> };
  identity?: TaskIdentity;
  task?: { lastStatus: string; desiredStatus: string };
  /** For an admitted task: its label tags the entry would not carry, and why. */
  droppedLabels?: DroppedLabel[];
  trace: PolicyVerdict[];
}

export async function explainDecision(request: ExplainRequest, deps: ExplainDeps): Promise<Explanation> {
  return 'identity' in request.subject ? explainIdentity(request.subject.identity, request, deps) : explainTask(request.subject, request.group, deps);
}

async function explainTask(subject: { taskArn: string; clusterName: string }, group: ObjectRef | undefined, deps: ExplainDeps): Promise<Explanation> {
  const arn = parseArn(subject.taskArn);
  const taskId = taskIdFromArn(subject.taskArn);
  if (!arn || !taskId) return refusal(REASONS.TASK_NOT_FOUND, `${subject.taskArn} is not an ECS task ARN`);
  const clusterArn = `arn:${arn.partition}:ecs:${arn.region}:${arn.accountId}:cluster/${subject.clusterName}`;
  const task = (await deps.tasks.describeTasks(clusterArn, [subject.taskArn])).get(taskId);
  if (!task) return refusal(REASONS.TASK_NOT_FOUND, `ECS does not know task ${taskId} in cluster ${subject.clusterName} (stopped over an hour ago, or never existed)`);
  // A named group stands in for the task's tag; the task tag wins over the role's, as in docs/architecture.md#policy.
  const tags = group ? { ...task.tags, [WORKLOAD_GROUP_TAG]: `${group.namespace}/${group.name}` } : task.tags;
  const decision = await decideEnrollment(contextOfTask(task), { ...task, tags }, deps);
  const status = { lastStatus: task.lastStatus, desiredStatus: task.desiredStatus };
  if (decision.outcome === 'enrolled') {
    const { namespace, name, labels } = decision.group.metadata;
    return { allowed: true, outcome: 'enrolled', reason: REASONS.POLICY_ALLOWED, detail: `policy ${decision.policy} rule ${decision.rule} allows it`, policy: decision.policy, rule: decision.rule, group: { namespace, name, labels: labels ?? {} }, identity: decision.identity, task: status, droppedLabels: decision.droppedLabels, trace: decision.trace };
  }
  return { allowed: false, outcome: decision.outcome, reason: decision.reason, detail: decision.detail, ...(decision.group ? { group: decision.group } : {}), ...(decision.identity ? { identity: decision.identity } : {}), task: status, trace: decision.trace ?? [] };
}

async function explainIdentity(facts: IdentityFacts, request: ExplainRequest, deps: ExplainDeps): Promise<Explanation> {
  const role = await roleOf(facts, deps);
  if (!role) return refusal(REASONS.TASK_ROLE_NOT_FOUND, `IAM role ${facts.role.arn} does not exist`);
  let groupRef = request.group;
  if (!groupRef) {
    const fromRole = requestedWorkloadGroup({}, role.tags);
    if (!fromRole.found) return { ...refusal(REASONS.NO_WORKLOAD_GROUP_TAG, 'no group given and no ecsmesh.io/workload-group tag on the role'), outcome: 'ignored' };
    if ('invalid' in fromRole) return refusal(REASONS.INVALID_WORKLOAD_GROUP_TAG, `role tag: ${fromRole.invalid}`);
    groupRef = fromRole.ref;
  }
  const identity: TaskIdentity = {
    partition: facts.partition,
    accountId: facts.account,
    region: facts.region,
    ...(facts.zone ? { zone: facts.zone } : {}),
    clusterName: facts.cluster,
    clusterArn: `arn:${facts.partition}:ecs:${facts.region}:${facts.account}:cluster/${facts.cluster}`,
    launchType: facts.launchType ?? 'UNKNOWN',
    role,
  };
  const access = await evaluateAccess(identity, groupRef, deps, request.groupLabels);
  const group = { ...groupRef, ...(access.labels ? { labels: access.labels } : {}) };
  if (!access.allowed) return { allowed: false, outcome: 'rejected', reason: access.reason, detail: access.detail, group, identity, trace: access.trace };
  return { allowed: true, outcome: 'enrolled', reason: REASONS.POLICY_ALLOWED, detail: `policy ${access.policy} rule ${access.rule} allows it`, policy: access.policy, rule: access.rule, group, identity, trace: access.trace };
}

/** The role as IAM has it, or as described (what-if) when tags are given. */
async function roleOf(facts: IdentityFacts, deps: ExplainDeps): Promise<RoleFacts | undefined> {
  if (!facts.role.tags) return deps.roles.getRole(facts.role.arn);
  const arn = parseArn(facts.role.arn);
  return { arn: facts.role.arn, name: arn?.resource.split('/').pop() ?? '', roleId: '(not looked up)', accountId: arn?.accountId ?? facts.account, tags: facts.role.tags };
}

function refusal(reason: Reason, detail: string): Explanation {
  return { allowed: false, outcome: 'rejected', reason, detail, trace: [] };
}
