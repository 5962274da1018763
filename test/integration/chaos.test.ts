/**
 * A small run of `npm run chaos` (issue 12): a few hundred tasks' events delivered at least once
 * under faults and a mesh outage past the queue's retry window, changes of policy, tags and groups
 * in the middle, then one reconcile pass, after which the mesh and the records are the truth.
 */
import { describe, expect, inject, it } from 'vitest';
import { DEFAULT_CHAOS_OPTIONS, runChaos } from '../support/chaos/run-chaos.js';

describe('chaos: convergence under faults', () => {
  it('after the events drain and one reconcile pass, the mesh and the records are exactly the truth', async () => {
    const report = await runChaos({ ...DEFAULT_CHAOS_OPTIONS, tasks: 200, services: 8, handDeletes: 5 }, inject('awsEndpoint'));

    expect(report.mustBeZero).toEqual(Object.fromEntries(Object.keys(report.mustBeZero).map((k) => [k, 0])));
    expect(report.afterPass.expected).toBeGreaterThan(100);
    // The run was as hard as it claims: events lost, duplicated, faults and an outage that dead-lettered...
    expect(report.events.dropped).toBeGreaterThan(0);
    expect(report.events.duplicates).toBeGreaterThan(0);
    expect(report.faults.total).toBeGreaterThan(0);
    expect(report.deadLettered).toBeGreaterThan(0);
    // ...the events alone left the mesh wrong in every way, and the pass repaired each kind.
    for (const kind of ['missing', 'drifted', 'wronglyPresent'] as const) expect(report.beforePass[kind], kind).toBeGreaterThan(0);
    for (const kind of ['missing', 'revoked', 'drifted', 'group-gone'] as const) expect(report.pass.repairs[kind], kind).toBeGreaterThan(0);
  }, 120_000);
});
