/** What the core knows about an ECS task, its definition and its IAM role (no SDK types). */

export type LaunchType = 'FARGATE' | 'EC2' | 'EXTERNAL' | 'UNKNOWN';

/** The subset of DescribeTasks output the pipeline uses. */
export interface EcsTaskDescription {
  taskArn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  lastStatus: string;
  desiredStatus: string;
  launchType: LaunchType;
  availabilityZone?: string;
  /** RunTask override (`overrides.taskRoleArn`), which wins over the task definition's role. */
  overrideTaskRoleArn?: string;
  /** Private IPv4 of the task's own ENI (awsvpc only). */
  privateIpv4?: string;
  /** The subnet of that ENI: its VPC may name the task's network (meshNetworks). */
  subnetId?: string;
  tags: Record<string, string>;
  /** ECS's count of the task's state changes: no real event of the task carries a higher one. */
  version?: number;
}

export interface TaskDefinitionFacts {
  taskDefinitionArn: string;
  networkMode: string;
  taskRoleArn?: string;
}

export interface RoleFacts {
  arn: string;
  name: string;
  /** IAM's unique id (AROA...): a role recreated under the same name gets a new one. */
  roleId: string;
  accountId: string;
  tags: Record<string, string>;
}

/** Who a task is and where it runs: what policies are evaluated against (docs/architecture.md#policy). */
export interface TaskIdentity {
  partition: string;
  accountId: string;
  region: string;
  zone?: string;
  clusterName: string;
  clusterArn: string;
  launchType: LaunchType;
  role: RoleFacts;
}

export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  resource: string;
}

/** Splits an ARN; `undefined` when it is not one. */
export function parseArn(arn: string): ParsedArn | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  const [, partition, service, region, accountId] = parts as [string, string, string, string, string];
  return { partition, service, region, accountId, resource: parts.slice(5).join(':') };
}

/**
 * Task ARNs come in two forms: `task/<id>` (old) and `task/<cluster>/<id>` (long ARN format).
 * The id is the last path segment in both.
 */
export function taskIdFromArn(taskArn: string): string | undefined {
  const parsed = parseArn(taskArn);
  if (!parsed || parsed.service !== 'ecs' || !parsed.resource.startsWith('task/')) return undefined;
  const id = parsed.resource.split('/').pop();
  return id && /^[A-Za-z0-9-]{1,64}$/.test(id) ? id : undefined;
}

/** The cluster a long-format task ARN (`task/<cluster>/<id>`) names; `undefined` for the old `task/<id>`. */
export function clusterNameFromTaskArn(taskArn: string): string | undefined {
  const parsed = parseArn(taskArn);
  const parts = parsed?.service === 'ecs' ? parsed.resource.split('/') : [];
  return parts.length === 3 && parts[0] === 'task' ? parts[1] || undefined : undefined;
}

/** `arn:...:cluster/<name>` → `<name>`. */
/** Whether `names` (cluster names or ARNs, as ecsClusters gives them; none: every cluster) includes the cluster. */
export function clusterNamed(names: readonly string[] | undefined, clusterArn: string): boolean {
  return !names?.length || names.some((c) => c === clusterArn || c === clusterNameFromArn(clusterArn));
}

/** ecsClusters as the functions get it (ECS_CLUSTERS): comma-separated, blanks dropped. */
export function clusterList(text: string): string[] {
  return text.split(',').map((c) => c.trim()).filter(Boolean);
}

export function clusterNameFromArn(clusterArn: string): string | undefined {
  const parsed = parseArn(clusterArn);
  if (!parsed || parsed.service !== 'ecs' || !parsed.resource.startsWith('cluster/')) return undefined;
  return parsed.resource.slice('cluster/'.length) || undefined;
}

/** Role name from `arn:aws:iam::<acct>:role/<path>/<name>` (paths are allowed in role ARNs). */
export function roleNameFromArn(roleArn: string): string | undefined {
  const parsed = parseArn(roleArn);
  if (!parsed || parsed.service !== 'iam' || !parsed.resource.startsWith('role/')) return undefined;
  return parsed.resource.split('/').pop() || undefined;
}

/**
 * Whether two IAM role names name one role. IAM names are unique per account and "not
 * distinguished by case" (CreateRole, RoleName: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html),
 * so `UntagRole --role-name Ratings` changes the role `ratings`. Names are ASCII (\w+=,.@-), so lowercasing is exact.
 */
export function sameRoleName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** An ECS Task State Change as the pipeline reads it (parsed at the edge, functions/task-events). */
export interface TaskStateChangeEvent extends Omit<EcsTaskDescription, 'tags'> {
  eventId: string;
  account: string;
  region: string;
  time: string;
  taskId: string;
  clusterName: string;
  /** Grows with every change of the task; orders out-of-order deliveries. */
  version: number;
  stoppedReason?: string;
}

/**
 * Compares the whole described task with the claimed ARN: ECS answers by task id, so a claim
 * naming another partition, region, account or cluster must not borrow a real task's identity.
 */
export function describedTaskMismatch(claimedTaskArn: string, claimedCluster: string, task: Pick<EcsTaskDescription, 'taskArn' | 'clusterArn'>): string | undefined {
  const claimed = parseArn(claimedTaskArn);
  const described = parseArn(task.taskArn);
  if (!claimed || !described) return 'the described task ARN is not an ARN';
  for (const field of ['partition', 'region', 'accountId'] as const)
    if (claimed[field] !== described[field]) return `${field} ${claimed[field]} is not ${described[field]}`;
  if (taskIdFromArn(claimedTaskArn) !== taskIdFromArn(task.taskArn)) return 'the task id differs';
  const describedCluster = clusterNameFromArn(task.clusterArn);
  if (!describedCluster) return 'the task has no cluster';
  if (describedCluster !== claimedCluster) return `cluster ${claimedCluster} is not ${describedCluster}`;
  const clusterArn = parseArn(task.clusterArn);
  if (clusterArn?.partition !== described.partition || clusterArn.region !== described.region || clusterArn.accountId !== described.accountId) return 'the task’s cluster is elsewhere';
  return undefined;
}

/**
 * Task ARNs grouped by their cluster, in first-seen order of clusters and tasks: DescribeTasks
 * takes one cluster per call, so every caller that describes many tasks groups them first.
 */
export function taskArnsByCluster(tasks: readonly Pick<EcsTaskDescription, 'taskArn' | 'clusterArn'>[]): Map<string, string[]> {
  const byCluster = new Map<string, string[]>();
  for (const { clusterArn, taskArn } of tasks) {
    const arns = byCluster.get(clusterArn);
    if (arns) arns.push(taskArn);
    else byCluster.set(clusterArn, [taskArn]);
  }
  return byCluster;
}

/** Where a task is in its life, as its statuses say (taskLiveness). */
export type TaskLiveness = 'starting' | 'running' | 'stopping' | 'stopped';

const STOPPED_STATUSES: ReadonlySet<string> = new Set(['STOPPED', 'DELETED']);
const STOPPING_STATUSES: ReadonlySet<string> = new Set(['DEACTIVATING', 'STOPPING', 'DEPROVISIONING']);

/**
 * The one reading of a task's statuses that task-events, the reconciler and the auth exchange
 * share (docs/architecture.md#enrollment), so "is the task live" has one answer:
 * - `stopped`: lastStatus STOPPED (or DELETED);
 * - `stopping`: lastStatus DEACTIVATING, STOPPING or DEPROVISIONING, or desired STOPPED: a stop
 *   was asked for, and nothing sets it back;
 * - `running`: lastStatus RUNNING, not asked to stop;
 * - `starting`: PROVISIONING, PENDING, ACTIVATING, and any status ECS adds that is none of the
 *   above. ECS asks a task to stop (desired STOPPED) before any status of its way down, so an
 *   unknown status of a task not asked to stop is on its way up. Like a starting task it is not
 *   enrolled (only RUNNING is), and nothing of it is removed or tombstoned (a tombstone is final).
 */
export function taskLiveness(status: { lastStatus: string; desiredStatus: string }): TaskLiveness {
  if (STOPPED_STATUSES.has(status.lastStatus)) return 'stopped';
  if (STOPPING_STATUSES.has(status.lastStatus) || status.desiredStatus === 'STOPPED') return 'stopping';
  return status.lastStatus === 'RUNNING' ? 'running' : 'starting';
}

/** Live: starting or running, so a task that may hold a token and (once running) an entry. */
export function isLive(liveness: TaskLiveness): boolean {
  return liveness === 'starting' || liveness === 'running';
}
