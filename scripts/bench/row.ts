/**
 * One row of `npm run bench`'s table (issue 13's measures): what was measured now, the goal it is
 * held to, and, when it misses, the measured reason the floor is higher. `data` carries the raw
 * numbers into the JSON output so a change's effect can be compared run to run.
 */
export interface BenchRow {
  /** The measure, as named in docs/performance.md's table. */
  measure: string;
  /** The value measured in this run, formatted for the table. */
  now: string;
  /** The floor or goal this row is held to, formatted for the table. */
  goal: string;
  meets: boolean;
  /** Required when `meets` is false: why the floor is higher, from this run's numbers. */
  reason?: string;
  data: Record<string, unknown>;
}

/** A group of rows measured together (one moto, one stack). */
export interface BenchSection {
  name: string;
  /** Rows in table order. Each section starts and stops what it needs (e.g. its own moto). */
  run(): Promise<BenchRow[]>;
}
