/**
 * An in-memory {@link WorkloadEntryStore}, as upstream's own controller tests use
 * pilot/pkg/config/memory (memory.NewController): writes are checked against the stored
 * resourceVersion, as the API server checks them, and each write bumps it.
 */
import type { StoredWorkloadEntry, WorkloadEntryStore } from './workload-entry-controller.js';

export class MemoryWorkloadEntryStore implements WorkloadEntryStore {
  private readonly entries = new Map<string, StoredWorkloadEntry>();
  private revision = 0;
  /** Every write, in order, for tests that assert nothing was written. */
  readonly writes: { verb: 'create' | 'update' | 'updateStatus' | 'delete'; name: string }[] = [];

  create(entry: StoredWorkloadEntry): StoredWorkloadEntry {
    const key = keyOf(entry.metadata.namespace, entry.metadata.name);
    if (this.entries.has(key)) throw new Error(`WorkloadEntry ${key} already exists`);
    this.writes.push({ verb: 'create', name: key });
    return this.put(key, { ...structuredClone(entry), status: structuredClone(entry.status) });
  }

  get(namespace: string, name: string): StoredWorkloadEntry | undefined {
    const entry = this.entries.get(keyOf(namespace, name));
    return entry && structuredClone(entry);
  }

  list(): StoredWorkloadEntry[] {
    return [...this.entries.values()].map((e) => structuredClone(e));
  }

  update(entry: StoredWorkloadEntry): void {
    const live = this.live(entry);
    this.writes.push({ verb: 'update', name: keyOf(entry.metadata.namespace, entry.metadata.name) });
    // An Update does not touch the status subresource.
    this.put(keyOf(entry.metadata.namespace, entry.metadata.name), { ...structuredClone(entry), status: live.status });
  }

  updateStatus(entry: StoredWorkloadEntry): void {
    const live = this.live(entry);
    this.writes.push({ verb: 'updateStatus', name: keyOf(entry.metadata.namespace, entry.metadata.name) });
    this.put(keyOf(entry.metadata.namespace, entry.metadata.name), { ...live, status: structuredClone(entry.status) });
  }

  delete(namespace: string, name: string, resourceVersion: string | undefined): void {
    const live = this.entries.get(keyOf(namespace, name));
    if (!live) return;
    if (resourceVersion !== undefined && resourceVersion !== live.metadata.resourceVersion) throw new Error(`conflict deleting WorkloadEntry ${namespace}/${name}`);
    this.writes.push({ verb: 'delete', name: keyOf(namespace, name) });
    this.entries.delete(keyOf(namespace, name));
  }

  private live(entry: StoredWorkloadEntry): StoredWorkloadEntry {
    const live = this.entries.get(keyOf(entry.metadata.namespace, entry.metadata.name));
    if (!live) throw new Error(`WorkloadEntry ${entry.metadata.namespace}/${entry.metadata.name} not found`);
    if (entry.metadata.resourceVersion !== live.metadata.resourceVersion)
      throw new Error(`conflict: WorkloadEntry ${entry.metadata.namespace}/${entry.metadata.name} has been modified`);
    return live;
  }

  private put(key: string, entry: StoredWorkloadEntry): StoredWorkloadEntry {
    this.revision += 1;
    const stored = { ...entry, metadata: { ...entry.metadata, resourceVersion: String(this.revision) } };
    if (stored.status === undefined) delete stored.status;
    this.entries.set(key, stored);
    return structuredClone(stored);
  }
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
