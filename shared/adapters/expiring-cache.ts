/**
 * A small TTL cache for per-container lookups (role tags, task definitions, groups, policies).
 * Loads are single-flight: concurrent misses for one key share one call, so a cold container
 * processing a batch of tasks of one service makes one AWS call, not one per task.
 */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 1000,
  ) {}

  /** Returns the cached value or loads it; a failed load is not cached, so the next call retries. */
  getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > this.now()) return hit.value;
    const value = load();
    if (this.ttlMs > 0) {
      // Oldest first: a Map iterates in insertion order.
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.delete(key);
      const entry = { value, expiresAt: this.now() + this.ttlMs };
      this.entries.set(key, entry);
      value.catch(() => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      });
    }
    return value;
  }

  /** Forgets a key (e.g. a result that must not be kept). */
  delete(key: string): void {
    this.entries.delete(key);
  }
}
