/**
 * Which labels a task's WorkloadEntry carries (docs/architecture.md#workload-entry): the group's own, plus those its
 * `ecsmesh.io/label/<key>` tags ask for where the group allows it. Whoever may run a task with
 * tags is not who decides how the mesh treats it: a label can turn off mTLS towards the task
 * (`security.istio.io/tlsMode`), move it to another network or revision, or put it behind another
 * Service's selector. So the group names the keys its tasks may set, and reserved prefixes are
 * never taken from a task. A dropped label does not refuse the task; it is reported.
 */
import type { WorkloadGroup } from './kubernetes-types.js';
import { TASK_LABEL_REASONS, type TaskLabelReason } from './reasons.js';
import { LABEL_KEY, LABEL_VALUE } from './schemas.js';

/** Task tags `ecsmesh.io/label/<key>` ask for entry labels. */
export const LABEL_TAG_PREFIX = 'ecsmesh.io/label/';
/**
 * On the WorkloadGroup's own metadata, not `spec.metadata` (which istiod copies onto entries):
 * the comma-separated label keys the group lets its tasks set.
 */
export const TASK_LABEL_KEYS_ANNOTATION = 'ecsmesh.io/task-label-keys';
/** Label prefixes the mesh and Kubernetes act on, and ours; their subdomains are reserved too. */
export const RESERVED_LABEL_DOMAINS = ['istio.io', 'kubernetes.io', 'k8s.io', 'kuma.io', 'ecsmesh.io'] as const;

/** A task label tag that did not become a label, and why. */
export interface DroppedLabel {
  key: string;
  reason: TaskLabelReason;
}

export interface EntryLabels {
  /** The entry's labels: the group's, plus the task's that were allowed. */
  labels: Record<string, string>;
  /** Ordered by key. */
  dropped: DroppedLabel[];
}

/** The one decision of a task's entry labels: task-events, the reconciler, the exchange and explain all use it. */
export function entryLabels(group: WorkloadGroup, taskTags: Record<string, string>): EntryLabels {
  const own = groupEntryLabels(group);
  const optedIn = taskLabelKeys(group);
  const fromTask: Record<string, string> = {};
  const dropped: DroppedLabel[] = [];
  for (const [tag, value] of Object.entries(taskTags)) {
    if (!tag.startsWith(LABEL_TAG_PREFIX)) continue;
    const key = tag.slice(LABEL_TAG_PREFIX.length);
    const reason = refusalOf(key, value, own, optedIn);
    if (reason) dropped.push({ key, reason });
    else fromTask[key] = value;
  }
  dropped.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { labels: { ...fromTask, ...own }, dropped };
}

/** Whether a label key's prefix is a reserved domain or a subdomain of one (`security.istio.io/…`). */
export function isReservedLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const prefix = key.slice(0, slash).toLowerCase();
  return RESERVED_LABEL_DOMAINS.some((domain) => prefix === domain || prefix.endsWith(`.${domain}`));
}

/** The labels the group puts on every entry itself (istiod's auto-registration does the same). */
function groupEntryLabels(group: WorkloadGroup): Record<string, string> {
  return { ...group.spec.template?.labels, ...group.spec.metadata?.labels };
}

function taskLabelKeys(group: WorkloadGroup): ReadonlySet<string> {
  const listed = group.metadata.annotations?.[TASK_LABEL_KEYS_ANNOTATION] ?? '';
  return new Set(listed.split(',').map((key) => key.trim()).filter((key) => key !== ''));
}

function refusalOf(key: string, value: string, own: Record<string, string>, optedIn: ReadonlySet<string>): TaskLabelReason | undefined {
  if (!LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) return TASK_LABEL_REASONS.TASK_LABEL_INVALID;
  if (isReservedLabelKey(key)) return TASK_LABEL_REASONS.TASK_LABEL_RESERVED_PREFIX;
  // hasOwn: a key such as `constructor` must not be found on the object's prototype.
  if (Object.hasOwn(own, key)) return TASK_LABEL_REASONS.TASK_LABEL_SET_BY_GROUP;
  if (!optedIn.has(key)) return TASK_LABEL_REASONS.TASK_LABEL_NOT_OPTED_IN;
  return undefined;
}
