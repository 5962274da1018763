import { describe, expect, it } from 'vitest';
import { batchMetrics } from '../../shared/core/batch-metrics.js';

const NOW = new Date('2026-03-01T12:00:10.000Z');

describe('batchMetrics', () => {
  it('counts enrollments by phase and reason, one point per pair', () => {
    const points = batchMetrics(
      {
        outcomes: [
          { phase: 'enrolled', reason: 'POLICY_ALLOWED' },
          { phase: 'enrolled', reason: 'POLICY_ALLOWED' },
          { phase: 'rejected', reason: 'POLICY_DENIED' },
          { phase: 'rejected', reason: 'NO_TASK_ROLE' },
        ],
        eventTimes: [],
        setAside: 0,
      },
      NOW,
    );

    expect(points).toEqual([
      { name: 'enrollments', unit: 'Count', value: 2, dimensions: { phase: 'enrolled', reason: 'POLICY_ALLOWED' } },
      { name: 'enrollments', unit: 'Count', value: 1, dimensions: { phase: 'rejected', reason: 'POLICY_DENIED' } },
      { name: 'enrollments', unit: 'Count', value: 1, dimensions: { phase: 'rejected', reason: 'NO_TASK_ROLE' } },
    ]);
  });

  it('skips tasks that wrote no record (a skipped or failed event)', () => {
    expect(batchMetrics({ outcomes: [{}, { reason: 'X' }], eventTimes: [], setAside: 0 }, NOW)).toEqual([]);
  });

  it('measures each event lag from its time to now, never negative, ignoring an unreadable time', () => {
    const points = batchMetrics({ outcomes: [], eventTimes: ['2026-03-01T12:00:00.000Z', '2026-03-01T12:00:15.000Z', 'not a time'], setAside: 0 }, NOW);

    expect(points).toEqual([
      { name: 'event_lag', unit: 'Milliseconds', value: 10_000 },
      { name: 'event_lag', unit: 'Milliseconds', value: 0 },
    ]);
  });

  it('counts records set aside on the DLQ and events ahead of ECS', () => {
    const points = batchMetrics({ outcomes: [{ versionAheadOfEcs: 9 }], eventTimes: [], setAside: 2 }, NOW);

    expect(points).toEqual([
      { name: 'dlq_set_aside', unit: 'Count', value: 2 },
      { name: 'EventVersionAheadOfEcs', unit: 'Count', value: 1 },
    ]);
  });
});
