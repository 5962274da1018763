/**
 * A small run of `npm run chaos` (issue 12): a few hundred tasks' events delivered at least once
 * under faults and a mesh outage past the queue's retry window, changes of policy, tags and groups
 * in the middle, then one reconcile pass, after which the mesh and the records are the truth; and
 * istiod co-writing the entries of the probed groups (sidecars connecting, disconnecting, probes
 * flapping, a restart), after which it serves exactly the running, allowed and healthy tasks, and a
 * pass over the converged mesh writes nothing.
 */
import { describe, expect, inject, it } from 'vitest';
import { DEFAULT_CHAOS_OPTIONS, runChaos } from '../support/chaos/run-chaos.js';

describe('chaos: convergence under faults', () => {
  it('after the events drain and one reconcile pass, the mesh and the records are exactly the truth', async () => {
    const report = await runChaos({ ...DEFAULT_CHAOS_OPTIONS, tasks: 200, services: 8, handDeletes: 5 }, inject('awsEndpoint'));

    // The examples name what differs, so a failure says where to look.
    expect(report.mustBeZero, report.examples.join('\n')).toEqual(Object.fromEntries(Object.keys(report.mustBeZero).map((k) => [k, 0])));
    expect(report.afterPass.expected).toBeGreaterThan(100);
    // The run was as hard as it claims: events lost, duplicated, faults and an outage that dead-lettered...
    expect(report.events.dropped).toBeGreaterThan(0);
    expect(report.events.duplicates).toBeGreaterThan(0);
    expect(report.faults.total).toBeGreaterThan(0);
    expect(report.deadLettered).toBeGreaterThan(0);
    // ...the events alone left the mesh wrong in every way, and the pass repaired each kind.
    for (const kind of ['missing', 'drifted', 'wronglyPresent'] as const) expect(report.beforePass[kind], kind).toBeGreaterThan(0);
    for (const kind of ['missing', 'revoked', 'drifted', 'group-gone'] as const) expect(report.pass.repairs[kind], kind).toBeGreaterThan(0);
    // istiod co-wrote as claimed: sidecars connected, some refused then retried, disconnected,
    // blipped, flapped; it restarted; and some running, allowed tasks are held back as unhealthy.
    expect(report.mustBeZero).toMatchObject({ 'endpoints missing': 0, 'endpoints wrongly present': 0, 'mesh writes in a pass over a converged mesh': 0 });
    for (const figure of ['connects', 'refused', 'disconnects', 'probeReports'] as const) expect(report.istiod[figure], figure).toBeGreaterThan(0);
    expect(report.istiod.blips.total).toBeGreaterThan(0);
    expect(report.istiod.flaps.failed).toBeGreaterThan(report.istiod.flaps.recovered);
    expect(report.istiod.restarts).toBe(1);
    expect(report.endpoints.expected).toBeGreaterThan(50);
    expect(report.endpoints.expected).toBeLessThan(report.afterPass.expected);
    expect(report.convergedPass.entriesCoWritten).toBeGreaterThan(30);
    expect(report.convergedPass.meshRequests).toBeGreaterThan(0);
  }, 120_000);
});
