/**
 * The metrics of one task-events batch, as data (the handler emits them as EMF): enrollments by
 * phase and reason, the lag from each event's time to its processing, records set aside on the
 * DLQ, and events whose version was ahead of ECS's.
 */

export interface MetricPoint {
  name: string;
  unit: 'Count' | 'Milliseconds';
  value: number;
  /** Extra dimensions besides the service; low cardinality only (phases, reason codes). */
  dimensions?: Record<string, string>;
}

export interface BatchFacts {
  /** Per task acted on: the phase and reason recorded, if a record was written. */
  outcomes: { phase?: string; reason?: string; versionAheadOfEcs?: number }[];
  /** The `time` of every readable event of the batch (ISO 8601). */
  eventTimes: string[];
  /** Malformed records set aside on the DLQ. */
  setAside: number;
}

/** The points for one batch processed at `now`; an unparsable event time yields no lag point. */
export function batchMetrics(facts: BatchFacts, now: Date): MetricPoint[] {
  const byPhaseAndReason = new Map<string, { phase: string; reason: string; count: number }>();
  for (const { phase, reason } of facts.outcomes) {
    if (phase === undefined) continue;
    const key = `${phase}\u0000${reason ?? 'NONE'}`;
    const entry = byPhaseAndReason.get(key) ?? { phase, reason: reason ?? 'NONE', count: 0 };
    entry.count += 1;
    byPhaseAndReason.set(key, entry);
  }
  const points: MetricPoint[] = [...byPhaseAndReason.values()].map(({ phase, reason, count }) => ({ name: 'enrollments', unit: 'Count', value: count, dimensions: { phase, reason } }));
  for (const time of facts.eventTimes) {
    const at = Date.parse(time);
    if (Number.isFinite(at)) points.push({ name: 'event_lag', unit: 'Milliseconds', value: Math.max(0, now.getTime() - at) });
  }
  if (facts.setAside > 0) points.push({ name: 'dlq_set_aside', unit: 'Count', value: facts.setAside });
  const ahead = facts.outcomes.filter((o) => o.versionAheadOfEcs !== undefined).length;
  if (ahead > 0) points.push({ name: 'EventVersionAheadOfEcs', unit: 'Count', value: ahead });
  return points;
}
