/**
 * Stable reason codes for every enrollment decision and refusal. A shipped code never
 * changes meaning; every code is listed in docs/reference.md#reason-codes.
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
  /** The task role named is another account's: ECS task roles live in the task's account, so its tags say nothing of this task. */
  TASK_ROLE_OTHER_ACCOUNT: 'TASK_ROLE_OTHER_ACCOUNT',
  /** The WorkloadEntry we would write fails the Istio CRD schema. */
  ENTRY_INVALID: 'ENTRY_INVALID',
  /** The SQS record is not an ECS Task State Change event we can read. */
  MALFORMED_EVENT: 'MALFORMED_EVENT',
  /** The reconciler: a policy, role tag or group label change no longer allows the enrolled task. */
  POLICY_REVOKED: 'POLICY_REVOKED',
  /** The reconciler: the task's WorkloadGroup was deleted, so its entry was removed. */
  WORKLOAD_GROUP_DELETED: 'WORKLOAD_GROUP_DELETED',
  /** The reconciler: ECS reports the task stopped or no longer knows it, and no stop event was applied. */
  TASK_GONE: 'TASK_GONE',
  /** A stop event ECS contradicts (it describes the task desired RUNNING at that version or later) was not applied. */
  STOP_CONTRADICTED: 'STOP_CONTRADICTED',
  /** The reconciler: the task's cluster was dropped from ecsClusters, so its entry was removed. */
  CLUSTER_NOT_WATCHED: 'CLUSTER_NOT_WATCHED',
  /** Another live task holds the task's address on its network (overlapping CIDRs); the reconciler enrolls it once that task leaves. */
  ADDRESS_IN_USE: 'ADDRESS_IN_USE',
} as const;

/**
 * Why a task's `ecsmesh.io/label/<key>` tag did not become a label of its WorkloadEntry
 * (shared/core/task-labels.ts). The task is admitted all the same; its record and explain list each.
 */
export const TASK_LABEL_REASONS = {
  /** The key is not a Kubernetes label key, or the value not a label value. */
  TASK_LABEL_INVALID: 'TASK_LABEL_INVALID',
  /** The key's prefix is reserved (istio.io, kubernetes.io, k8s.io, kuma.io, ecsmesh.io or a subdomain). */
  TASK_LABEL_RESERVED_PREFIX: 'TASK_LABEL_RESERVED_PREFIX',
  /** The group sets this label itself; the group's value stays. */
  TASK_LABEL_SET_BY_GROUP: 'TASK_LABEL_SET_BY_GROUP',
  /** The group's `ecsmesh.io/task-label-keys` annotation does not name the key. */
  TASK_LABEL_NOT_OPTED_IN: 'TASK_LABEL_NOT_OPTED_IN',
} as const;

export type TaskLabelReason = (typeof TASK_LABEL_REASONS)[keyof typeof TASK_LABEL_REASONS];

/**
 * Refusals of the auth exchange (docs/architecture.md#exchange), each answered with a 4xx (the handler's table maps
 * them to statuses). Details never hold a signature, a token or STS's body.
 */
export const EXCHANGE_REASONS = {
  MALFORMED_REQUEST: 'MALFORMED_REQUEST',
  REQUEST_TOO_LARGE: 'REQUEST_TOO_LARGE',
  /** The STS URL is not an exact, allow-listed STS endpoint (host, scheme, port, userinfo). */
  STS_ENDPOINT_NOT_ALLOWED: 'STS_ENDPOINT_NOT_ALLOWED',
  /** The credential scope's region is not the endpoint's region. */
  REGION_MISMATCH: 'REGION_MISMATCH',
  /** Anything but POST / with exactly Action=GetCallerIdentity&Version=2011-06-15. */
  ACTION_NOT_ALLOWED: 'ACTION_NOT_ALLOWED',
  SIGNATURE_MALFORMED: 'SIGNATURE_MALFORMED',
  /** The deployment's audience header is missing, unsigned or another deployment's. */
  AUDIENCE: 'AUDIENCE',
  EXPIRED: 'EXPIRED',
  FUTURE_DATED: 'FUTURE_DATED',
  REPLAY: 'REPLAY',
  RATE_LIMITED: 'RATE_LIMITED',
  /** STS refused the signed request (bad signature, expired credentials). */
  STS_REJECTED: 'STS_REJECTED',
  STS_THROTTLED: 'STS_THROTTLED',
  STS_UNAVAILABLE: 'STS_UNAVAILABLE',
  /** The caller is not an assumed role (an IAM user, a root or federated user...). */
  PRINCIPAL_TYPE: 'PRINCIPAL_TYPE',
  ACCOUNT_NOT_ALLOWED: 'ACCOUNT_NOT_ALLOWED',
  /** The role behind the session is not the role of that name now (RoleId differs or role gone). */
  ROLE_MISMATCH: 'ROLE_MISMATCH',
  /** ECS names a task role's session after the task id: this session is another task's. */
  SESSION_MISMATCH: 'SESSION_MISMATCH',
  TASK_NOT_RUNNING: 'TASK_NOT_RUNNING',
  /** ECS describes the task id under another partition, region, account or cluster than claimed. */
  TASK_ARN_MISMATCH: 'TASK_ARN_MISMATCH',
  TASK_ROLE_MISMATCH: 'TASK_ROLE_MISMATCH',
  CLUSTER_NOT_ALLOWED: 'CLUSTER_NOT_ALLOWED',
  /** Neither the request, the task nor its role names a WorkloadGroup. */
  TAG_MISSING: 'TAG_MISSING',
  GROUP_NOT_FOUND: 'GROUP_NOT_FOUND',
  POLICY_DENIED: 'POLICY_DENIED',
  /** Requested labels are outside what the group and the task allow. */
  LABELS_NOT_ALLOWED: 'LABELS_NOT_ALLOWED',
  /** The task is not `awsvpc`, so it has no address of its own and cannot join the mesh. */
  NETWORK_MODE_UNSUPPORTED: 'NETWORK_MODE_UNSUPPORTED',
  /** The task has no ENI with a private IPv4 address (yet). */
  NO_PRIVATE_IP: 'NO_PRIVATE_IP',
  /** The task's WorkloadEntry would fail the Istio CRD schema, so task-events would not enroll it. */
  ENTRY_INVALID: 'ENTRY_INVALID',
  /** Another live task holds the task's address on its network, so task-events would not enroll it. */
  ADDRESS_IN_USE: 'ADDRESS_IN_USE',
} as const;

export type ExchangeReason = (typeof EXCHANGE_REASONS)[keyof typeof EXCHANGE_REASONS];

export type Reason = (typeof REASONS)[keyof typeof REASONS];

/**
 * Why a WorkloadGroup's upstreams (its `ecsmesh.io/upstreams` annotation) did not all get a mesh name and a
 * listener (docs/architecture.md#mesh-names). A group refused whole keeps the Sidecar it had; a refused
 * upstream is left out and the others go on.
 */
export const NAME_REASONS = {
  /** The annotation is not a comma-separated list of `<service>.<namespace>.<zone>[:<port>]`; the group's Sidecar is left as it was. */
  UPSTREAMS_INVALID: 'UPSTREAMS_INVALID',
  /** The group declares upstreams but its `ecsmesh.io/app-port` (where the app listens on 127.0.0.1) is missing or not a port; the group's Sidecar is left as it was. */
  APP_PORT_INVALID: 'APP_PORT_INVALID',
  /** No Kubernetes Service of that name and namespace: no name until it exists. */
  UPSTREAM_SERVICE_NOT_FOUND: 'UPSTREAM_SERVICE_NOT_FOUND',
  /** The Service does not serve the port declared. */
  UPSTREAM_PORT_NOT_SERVED: 'UPSTREAM_PORT_NOT_SERVED',
  /** Below 1024: istio-proxy runs as a non-root user and cannot bind it. */
  UPSTREAM_PORT_PRIVILEGED: 'UPSTREAM_PORT_PRIVILEGED',
  /** Another upstream of the group, or the group's own mesh port, has the port: istiod refuses two IP-bound listeners on one port. */
  UPSTREAM_PORT_CONFLICT: 'UPSTREAM_PORT_CONFLICT',
  /** Every address of meshNameCidr is held: widen it. */
  ADDRESSES_EXHAUSTED: 'ADDRESSES_EXHAUSTED',
} as const;

export type NameReason = (typeof NAME_REASONS)[keyof typeof NAME_REASONS];
