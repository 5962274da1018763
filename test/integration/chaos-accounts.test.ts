/**
 * The chaos run over three accounts (issue 20), in both topologies of docs/multi-account.md,
 * each on its own fresh stacks: a hub whose members' events are forwarded to its queue and whose
 * clusters it lists through their reader roles; and a control plane per account, all three writing
 * to one mesh. Same faults, lost events, outage and changes as the one-account run (chaos.test.ts);
 * the same figures must be 0.
 */
import { describe, expect, inject, it } from 'vitest';
import { DEFAULT_CHAOS_OPTIONS, MULTI_ACCOUNT_TOPOLOGIES, runChaos } from '../support/chaos/run-chaos.js';

describe('chaos: convergence over three accounts', () => {
  it.each(MULTI_ACCOUNT_TOPOLOGIES)('%s: after the events drain and one reconcile pass, the mesh and the records are exactly the truth', async (topology) => {
    const report = await runChaos({ ...DEFAULT_CHAOS_OPTIONS, topology, accounts: 3, tasks: 120, services: 6, handDeletes: 4 }, inject('awsEndpoint'));

    expect({ mustBeZero: report.mustBeZero, examples: report.examples }).toEqual({ mustBeZero: Object.fromEntries(Object.keys(report.mustBeZero).map((k) => [k, 0])), examples: [] });
    // Every account had tasks in the mesh, and the pass listed every account's clusters.
    expect(new Set(report.accounts.inMesh.map(([, n]) => n > 0))).toEqual(new Set([true]));
    expect(report.accounts.inMesh).toHaveLength(3);
    expect(report.pass.clustersListed).toBe(9);
    // The run was as hard as the one-account one: events lost, duplicated, faults, the DLQ...
    expect(report.events.dropped).toBeGreaterThan(0);
    expect(report.events.duplicates).toBeGreaterThan(0);
    expect(report.faults.total).toBeGreaterThan(0);
    expect(report.deadLettered).toBeGreaterThan(0);
    // ...the events alone left the mesh wrong, and the pass repaired it.
    for (const kind of ['missing', 'wronglyPresent'] as const) expect(report.beforePass[kind], kind).toBeGreaterThan(0);
    for (const kind of ['missing', 'revoked'] as const) expect(report.pass.repairs[kind], kind).toBeGreaterThan(0);
  }, 120_000);
});
