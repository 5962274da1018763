/**
 * Builds the WorkloadEntry for an enrolled task (docs/architecture.md#workload-entry). The name comes from the task,
 * never from its IP, so a new task that reuses an address gets its own entry.
 */
import { createHash } from 'node:crypto';
import { WORKLOAD_ENTRY_API_VERSION, type ObjectRef, type WorkloadEntry, type WorkloadGroup } from './kubernetes-types.js';
import { LABEL_VALUE, namespaceName, objectName } from './schemas.js';
import { entryLabels } from './task-labels.js';

export const WORKLOAD_GROUP_TAG = 'ecsmesh.io/workload-group';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'ecs-mesh-onboarding';
export const TASK_ID_LABEL = 'ecsmesh.io/task-id';
/**
 * The deployment that wrote the entry (deploymentLabelValue of its AUTH_AUDIENCE): a reconciler
 * judges only its own, so two deployments sharing one mesh never remove each other's entries.
 */
export const DEPLOYMENT_LABEL = 'ecsmesh.io/deployment';
/** istiod acts on an entry's health reports only when this is set (istio's WorkloadEntryHealthCheckAnnotation). */
export const HEALTH_CHECKS_ANNOTATION = 'proxy.istio.io/health-checks-enabled';

/** True for an entry istiod serves only once its proxy reports a passing probe (the group has one). */
export function isHealthChecked(entry: { metadata: { annotations?: Record<string, string> } }): boolean {
  return Object.hasOwn(entry.metadata.annotations ?? {}, HEALTH_CHECKS_ANNOTATION);
}
export const ANNOTATIONS = {
  taskArn: 'ecsmesh.io/task-arn',
  clusterArn: 'ecsmesh.io/cluster-arn',
  taskDefinitionArn: 'ecsmesh.io/task-definition-arn',
  eventVersion: 'ecsmesh.io/event-version',
} as const;

export type GroupRequest =
  | { found: true; ref: ObjectRef; source: 'task' | 'role' }
  | { found: false }
  | { found: true; invalid: string; source: 'task' | 'role' };

/** Reads `ecsmesh.io/workload-group` = `<namespace>/<name>` from the task, else from its role. */
export function requestedWorkloadGroup(taskTags: Record<string, string>, roleTags: Record<string, string>): GroupRequest {
  const source = taskTags[WORKLOAD_GROUP_TAG] !== undefined ? 'task' : roleTags[WORKLOAD_GROUP_TAG] !== undefined ? 'role' : undefined;
  if (!source) return { found: false };
  const value = (source === 'task' ? taskTags : roleTags)[WORKLOAD_GROUP_TAG] ?? '';
  const [namespace, name, ...rest] = value.split('/');
  if (rest.length > 0 || !namespace || !name) return { found: true, source, invalid: `"${value}" is not <namespace>/<name>` };
  if (!namespaceName.safeParse(namespace).success) return { found: true, source, invalid: `namespace "${namespace}" is not a DNS-1123 label` };
  if (!objectName.safeParse(name).success) return { found: true, source, invalid: `name "${name}" is not a DNS-1123 subdomain` };
  return { found: true, source, ref: { namespace, name } };
}

export interface EntryInput {
  group: WorkloadGroup;
  taskId: string;
  taskArn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  eventVersion: number;
  address: string;
  region: string;
  zone?: string;
  taskTags: Record<string, string>;
  /** This deployment's DEPLOYMENT_LABEL value. */
  deployment: string;
  /** The task's network (resolveNetwork); omitted, the group template's. */
  network?: string;
}

/** `<group>-<taskId>`, lower-cased to stay a DNS-1123 subdomain. */
export function workloadEntryName(groupName: string, taskId: string): string {
  return `${groupName}-${taskId}`.toLowerCase();
}

/**
 * The entry to apply; callers validate it against the CRD before sending. As istiod's own
 * auto-registration builds one from a group: the template, the group's metadata labels and
 * annotations on the entry, the same labels in spec and metadata, and health checks enabled when
 * the group has a probe. Unlike istiod, a task's own labels may add those the group opts in
 * (entryLabels), and the entry is not marked auto-registered, so istiod's cleanup leaves it to us.
 */
export function buildWorkloadEntry(input: EntryInput): WorkloadEntry {
  const { group } = input;
  const template = group.spec.template ?? {};
  const { labels } = entryLabels(group, input.taskTags);
  const spec: WorkloadEntry['spec'] = {
    address: input.address,
    labels,
    serviceAccount: template.serviceAccount ?? 'default',
    locality: input.zone ? `${input.region}/${input.zone}` : input.region,
  };
  const network = input.network ?? template.network;
  if (network !== undefined) spec.network = network;
  if (template.ports !== undefined) spec.ports = { ...template.ports };
  if (template.weight !== undefined) spec.weight = template.weight;
  return {
    apiVersion: WORKLOAD_ENTRY_API_VERSION,
    kind: 'WorkloadEntry',
    metadata: {
      name: workloadEntryName(group.metadata.name, input.taskId),
      namespace: group.metadata.namespace,
      labels: { ...labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [DEPLOYMENT_LABEL]: input.deployment, [TASK_ID_LABEL]: input.taskId.toLowerCase() },
      annotations: {
        ...group.spec.metadata?.annotations,
        ...(group.spec.probe ? { [HEALTH_CHECKS_ANNOTATION]: 'true' } : {}),
        [ANNOTATIONS.taskArn]: input.taskArn,
        [ANNOTATIONS.clusterArn]: input.clusterArn,
        [ANNOTATIONS.taskDefinitionArn]: input.taskDefinitionArn,
        [ANNOTATIONS.eventVersion]: String(input.eventVersion),
      },
      // As istiod's auto-registration does: the entry goes when its group goes.
      ownerReferences: group.metadata.uid
        ? [{ apiVersion: group.apiVersion, kind: 'WorkloadGroup', name: group.metadata.name, uid: group.metadata.uid, controller: true }]
        : [],
    },
    spec,
  };
}

/**
 * Whether a stored entry was written by us for this very task (guards every delete): by this
 * deployment, or before entries named theirs, never by another deployment sharing the mesh.
 */
export function entryBelongsTo(entry: WorkloadEntry, taskArn: string, deployment: string): boolean {
  return entry.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE && entry.metadata.annotations?.[ANNOTATIONS.taskArn] === taskArn && !writtenByAnotherDeployment(entry, deployment);
}

/** Whether the entry names a deployment other than `deployment`; one written before entries named theirs names none. */
export function writtenByAnotherDeployment(entry: WorkloadEntry, deployment: string): boolean {
  const owner = entry.metadata.labels?.[DEPLOYMENT_LABEL];
  return owner !== undefined && owner !== deployment;
}

/**
 * The deployment's server ID (AUTH_AUDIENCE, unique per deployment) as a label value: itself when
 * it is one; else (a URL, more than 63 characters) its label-safe start and a hash of the whole,
 * so two IDs that differ only where the start was cut still get different values.
 */
export function deploymentLabelValue(serverId: string): string {
  if (serverId !== '' && LABEL_VALUE.test(serverId)) return serverId;
  const start = serverId.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 46).replace(/[^A-Za-z0-9]+$/, '');
  const hash = createHash('sha256').update(serverId).digest('hex').slice(0, 16);
  return start ? `${start}-${hash}` : hash;
}
