/**
 * Stable reason codes for every enrollment decision and refusal. A shipped code never
 * changes meaning; every code is listed in the README.
 */
export const REASONS = {
  /** A policy allowed the task and its WorkloadEntry was applied. */
  POLICY_ALLOWED: 'POLICY_ALLOWED',
  /** The task is starting; nothing to register yet. */
  TASK_STARTING: 'TASK_STARTING',
  /** The task is stopping or stopped; its entry was removed. */
  TASK_STOPPING: 'TASK_STOPPING',
  TASK_STOPPED: 'TASK_STOPPED',
  /** Neither the task nor its role carries `ecsmesh.io/workload-group`: not meshed. */
  NO_WORKLOAD_GROUP_TAG: 'NO_WORKLOAD_GROUP_TAG',
  /** The tag is present but not `<namespace>/<name>` with DNS-1123 parts. */
  INVALID_WORKLOAD_GROUP_TAG: 'INVALID_WORKLOAD_GROUP_TAG',
  WORKLOAD_GROUP_NOT_FOUND: 'WORKLOAD_GROUP_NOT_FOUND',
  /** No policy of the group's namespace allows this identity into this group. */
  POLICY_DENIED: 'POLICY_DENIED',
  /** Only `awsvpc` tasks have an address of their own. */
  NETWORK_MODE_UNSUPPORTED: 'NETWORK_MODE_UNSUPPORTED',
  NO_PRIVATE_IP: 'NO_PRIVATE_IP',
  /** DescribeTasks no longer knows the task (stopped long ago, or never existed). */
  TASK_NOT_FOUND: 'TASK_NOT_FOUND',
  NO_TASK_ROLE: 'NO_TASK_ROLE',
  TASK_ROLE_NOT_FOUND: 'TASK_ROLE_NOT_FOUND',
  /** The WorkloadEntry we would write fails the Istio CRD schema. */
  ENTRY_INVALID: 'ENTRY_INVALID',
  /** The SQS record is not an ECS Task State Change event we can read. */
  MALFORMED_EVENT: 'MALFORMED_EVENT',
} as const;

export type Reason = (typeof REASONS)[keyof typeof REASONS];
