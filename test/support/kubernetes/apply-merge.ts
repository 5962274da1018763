/**
 * Field ownership for server-side apply, reduced to what the mesh adapter relies on: leaf fields
 * (maps recurse, lists are atomic), one owner set per manager and operation, conflicts when
 * another manager owns a field with a different value, and removal of fields a manager stops applying.
 */
import { isDeepStrictEqual } from 'node:util';

/** A stored Kubernetes object as plain JSON. */
export type KubernetesObject = Record<string, unknown> & { metadata: Record<string, unknown> };

/** Owner key (`manager` + `operation`, + `subresource` for a status write) → encoded field paths. */
export type Ownership = Map<string, Set<string>>;

/** One field an apply may not change without `force`, as the API server's FieldManagerConflict cause names it. */
export interface ApplyConflict {
  manager: string;
  operation: 'Apply' | 'Update';
  /** `.spec.weight`, `.metadata.annotations.istio.io/connectedAt`. */
  field: string;
}

/** One `metadata.managedFields` entry as the API server renders it. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: 'status';
}

const OWNED_METADATA = ['labels', 'annotations', 'ownerReferences', 'finalizers'];
const NOT_OWNED_ROOT = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/** `manager` + `operation` (+ `subresource`) as one map key. */
export function ownerKey(manager: string, operation: 'Apply' | 'Update', subresource?: 'status'): string {
  return JSON.stringify(subresource ? [manager, operation, subresource] : [manager, operation]);
}

function parseOwner(owner: string): { manager: string; operation: 'Apply' | 'Update'; subresource?: 'status' } {
  const [manager = '', operation = 'Update', subresource] = JSON.parse(owner) as [string, 'Apply' | 'Update', 'status' | undefined];
  return { manager, operation, ...(subresource ? { subresource } : {}) };
}

/** Leaf field paths (JSON-encoded segment arrays) of the user-owned part of an object. */
export function fieldPaths(obj: KubernetesObject): Set<string> {
  const paths = new Set<string>();
  const visit = (value: unknown, segments: string[]) => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [key, child] of Object.entries(value)) visit(child, [...segments, key]);
    } else paths.add(JSON.stringify(segments));
  };
  for (const [key, value] of Object.entries(obj)) if (!NOT_OWNED_ROOT.has(key)) visit(value, [key]);
  for (const key of OWNED_METADATA) if (obj.metadata[key] !== undefined) visit(obj.metadata[key], ['metadata', key]);
  return paths;
}

/** Merges an apply configuration into `live`; returns conflict descriptions instead when not forced. */
export function mergeApply(
  live: KubernetesObject,
  ownership: Ownership,
  config: KubernetesObject,
  manager: string,
  force: boolean,
): { object: KubernetesObject; ownership: Ownership } | { conflicts: ApplyConflict[] } {
  const self = ownerKey(manager, 'Apply');
  const applied = fieldPaths(config);
  const next: Ownership = new Map([...ownership].map(([k, v]) => [k, new Set(v)]));
  const conflicts: ApplyConflict[] = [];
  for (const path of applied) {
    const segments = JSON.parse(path) as string[];
    if (isDeepStrictEqual(getAt(live, segments), getAt(config, segments))) continue;
    for (const [owner, paths] of next) {
      if (owner === self || !paths.has(path)) continue;
      if (force) paths.delete(path);
      else conflicts.push({ manager: parseOwner(owner).manager, operation: parseOwner(owner).operation, field: `.${segments.join('.')}` });
    }
  }
  if (conflicts.length > 0) return { conflicts };

  const object = structuredClone(live);
  const stillOwned = (path: string) => [...next].some(([owner, paths]) => owner !== self && paths.has(path));
  for (const path of next.get(self) ?? []) {
    if (!applied.has(path) && !stillOwned(path)) removeAt(object, JSON.parse(path) as string[]);
  }
  for (const path of applied) {
    const segments = JSON.parse(path) as string[];
    setAt(object, segments, structuredClone(getAt(config, segments)));
  }
  next.set(self, applied);
  return { object, ownership: dropEmpty(next) };
}

/** Ownership after a plain update (POST/PUT): changed fields move to `manager`, vanished ones are released. */
export function ownershipAfterUpdate(before: KubernetesObject | undefined, after: KubernetesObject, ownership: Ownership, manager: string): Ownership {
  const self = ownerKey(manager, 'Update');
  const present = fieldPaths(after);
  const unchanged = (path: string) => {
    const segments = JSON.parse(path) as string[];
    return before !== undefined && isDeepStrictEqual(getAt(before, segments), getAt(after, segments));
  };
  const next: Ownership = new Map();
  // A status owner's fields are the status subresource's: a write of the main resource leaves them be.
  for (const [owner, paths] of ownership) next.set(owner, parseOwner(owner).subresource ? paths : new Set([...paths].filter((p) => present.has(p) && unchanged(p))));
  const mine = next.get(self) ?? new Set<string>();
  for (const path of present) if (!unchanged(path)) mine.add(path);
  next.set(self, mine);
  return dropEmpty(next);
}

/**
 * Ownership after a write of the status subresource (`PUT .../status`): the status's fields that
 * changed move to `manager` (subresource `status`), as the API server records them.
 */
export function ownershipAfterStatusUpdate(before: unknown, after: unknown, ownership: Ownership, manager: string): Ownership {
  const self = ownerKey(manager, 'Update', 'status');
  const present = new Set<string>();
  const visit = (value: unknown, segments: string[]) => {
    if (isPlainObject(value) && Object.keys(value).length > 0) for (const [key, child] of Object.entries(value)) visit(child, [...segments, key]);
    else present.add(JSON.stringify(segments));
  };
  if (after !== undefined) visit(after, ['status']);
  const changed = (path: string) => !isDeepStrictEqual(getAt({ status: before }, JSON.parse(path) as string[]), getAt({ status: after }, JSON.parse(path) as string[]));
  const next: Ownership = new Map();
  for (const [owner, paths] of ownership) next.set(owner, parseOwner(owner).subresource ? new Set([...paths].filter((p) => present.has(p) && !changed(p))) : paths);
  const mine = next.get(self) ?? new Set<string>();
  for (const path of present) if (changed(path)) mine.add(path);
  next.set(self, mine);
  return dropEmpty(next);
}

/** Renders ownership as `metadata.managedFields`. */
export function renderManagedFields(ownership: Ownership, apiVersion: string, time: string): ManagedFieldsEntry[] {
  return [...ownership].map(([owner, paths]) => {
    const { manager, operation, subresource } = parseOwner(owner);
    const fieldsV1: Record<string, unknown> = {};
    for (const path of paths) {
      let node = fieldsV1;
      for (const segment of JSON.parse(path) as string[]) node = (node[`f:${segment}`] ??= {}) as Record<string, unknown>;
    }
    return { manager, operation, apiVersion, time, fieldsType: 'FieldsV1', fieldsV1, ...(subresource ? { subresource } : {}) };
  });
}

function dropEmpty(ownership: Ownership): Ownership {
  return new Map([...ownership].filter(([, paths]) => paths.size > 0));
}

function getAt(obj: unknown, segments: string[]): unknown {
  return segments.reduce<unknown>((node, key) => (isPlainObject(node) ? node[key] : undefined), obj);
}

function setAt(obj: Record<string, unknown>, segments: string[], value: unknown): void {
  let node = obj;
  for (const key of segments.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[segments[segments.length - 1] as string] = value;
}

/** Deletes a field and any map left empty above it, as the API server does for released fields. */
function removeAt(obj: Record<string, unknown>, segments: string[]): void {
  const parents: Record<string, unknown>[] = [];
  let node: unknown = obj;
  for (const key of segments.slice(0, -1)) {
    if (!isPlainObject(node)) return;
    parents.push(node);
    node = node[key];
  }
  if (!isPlainObject(node)) return;
  delete node[segments[segments.length - 1] as string];
  for (let i = segments.length - 2; i >= 1; i -= 1) {
    const parent = parents[i] as Record<string, unknown>;
    const key = segments[i] as string;
    if (isPlainObject(parent[key]) && Object.keys(parent[key]).length === 0) delete parent[key];
    else break;
  }
}

/** True for a JSON object (not an array or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
