import { describe, expect, it } from 'vitest';
import { ecsViewOf, entryDrift, judgeTask, reconcileFence, type TaskFacts } from '../../shared/core/reconcile.js';
import { buildWorkloadEntry } from '../../shared/core/workload-entry.js';
import { aRecord, anEntryInput } from '../fixtures/builders.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const entry = buildWorkloadEntry(anEntryInput());
const allowed = { allowed: true as const, entry };
const enrolled = aRecord({ phase: 'enrolled', version: 3 });
const judge = (facts: Partial<TaskFacts>, graceSeconds = 120) => judgeTask({ ecs: { state: 'running', version: 3 }, entries: [], ...facts }, NOW, graceSeconds);

describe('judgeTask', () => {
  it('leaves a running, allowed task with its entry and record alone', () => {
    expect(judge({ verdict: allowed, entries: [entry], record: enrolled })).toBeUndefined();
  });

  it.each([
    ['missing', { verdict: allowed, record: enrolled }, 'missing'],
    ['missing (record says rejected, entry present)', { verdict: allowed, entries: [entry], record: aRecord({ phase: 'rejected' }) }, 'missing'],
    ['drifted', { verdict: allowed, record: enrolled, entries: [{ ...entry, spec: { ...entry.spec, weight: 9 } }] }, 'drifted'],
    ['revoked', { verdict: { allowed: false as const, reason: 'POLICY_DENIED', detail: 'x', groupGone: false }, record: enrolled, entries: [entry] }, 'revoked'],
    ['group gone', { verdict: { allowed: false as const, reason: 'WORKLOAD_GROUP_NOT_FOUND', detail: 'x', groupGone: true }, record: enrolled }, 'group-gone'],
    ['orphaned (stopped)', { ecs: { state: 'stopped' as const, version: 5 }, entries: [entry], record: enrolled }, 'orphaned'],
    ['stale record', { ecs: { state: 'stopped' as const, version: 5 }, record: enrolled }, 'stale-record'],
    ['drifted (an entry of the old group left after a tag change)', { verdict: allowed, record: enrolled, entries: [entry, { ...entry, metadata: { ...entry.metadata, name: 'reviews-0123456789abcdef0123456789abcdef' } }] }, 'drifted'],
    ['orphaned (tombstone with an entry left behind)', { verdict: allowed, entries: [entry], record: aRecord({ phase: 'draining' }) }, 'orphaned'],
  ] as const)('calls for %s', (_name, facts, kind) => {
    expect(judge(facts as Partial<TaskFacts>)?.kind).toBe(kind);
  });

  it('never re-enrolls a tombstoned task ECS still lists as running', () => {
    expect(judge({ verdict: allowed, record: aRecord({ phase: 'deregistered' }) })).toBeUndefined();
  });

  it('leaves a refused task that was never enrolled alone', () => {
    expect(judge({ verdict: { allowed: false, reason: 'POLICY_DENIED', detail: 'x', groupGone: false }, record: aRecord({ phase: 'rejected' }) })).toBeUndefined();
  });

  it('leaves a starting task to task-events', () => {
    expect(judge({ ecs: { state: 'starting', version: 2 }, record: aRecord({ phase: 'pending' }) })).toBeUndefined();
  });

  it.each([
    ['its entry', { entries: [entry] }],
    ['its live record', { record: enrolled }],
  ])('removes a task of a cluster no longer in ecsClusters, by %s, without a grace period', (_name, facts) => {
    const repair = judge({ ecs: { state: 'unwatched', cluster: 'prod' }, lastTouchedMs: NOW.getTime(), ...facts });
    expect(repair).toEqual({ kind: 'unwatched', why: "cluster prod is not in this deployment's ecsClusters" });
  });

  it('leaves the settled record of an unwatched task alone', () => {
    expect(judge({ ecs: { state: 'unwatched', cluster: 'prod' }, record: aRecord({ phase: 'rejected' }) })).toBeUndefined();
  });

  it('gives a task ECS does not know the grace period, counted from its newest trace', () => {
    const facts = { ecs: { state: 'unknown' as const }, entries: [entry], lastTouchedMs: NOW.getTime() - 60_000 };
    expect(judge(facts, 120)).toBeUndefined();
    expect(judge(facts, 30)?.kind).toBe('orphaned');
  });
});

describe('entryDrift', () => {
  it('ignores the event-version bookkeeping and what the API server sets', () => {
    const stored = { ...entry, metadata: { ...entry.metadata, uid: 'u', resourceVersion: '7', creationTimestamp: 't', annotations: { ...entry.metadata.annotations, 'ecsmesh.io/event-version': '9' } } };
    expect(entryDrift(entry, stored)).toBeUndefined();
  });

  it('names a spec, label or annotation difference', () => {
    expect(entryDrift(entry, { ...entry, spec: { ...entry.spec, address: '10.0.0.1' } })).toMatch(/spec/);
    expect(entryDrift(entry, { ...entry, metadata: { ...entry.metadata, labels: { x: 'y' } } })).toMatch(/labels/);
    expect(entryDrift(entry, { ...entry, metadata: { ...entry.metadata, annotations: {} } })).toMatch(/annotations/);
  });

  describe("with istiod's co-writes (keys the mesh records as another manager's)", () => {
    const ours = { labels: Object.keys(entry.metadata.labels ?? {}), annotations: Object.keys(entry.metadata.annotations ?? {}) };
    const istiods = { 'istio.io/workloadController': 'istiod-1', 'istio.io/connectedAt': '2026-12-05T05:00:00.123Z', 'istio.io/disconnectedAt': '2026-12-05T05:01:00Z' };
    const coWritten = { ...entry, ownedKeys: ours, metadata: { ...entry.metadata, annotations: { ...entry.metadata.annotations, ...istiods }, labels: { ...entry.metadata.labels, 'topology.istio.io/subzone': 'a' } } };

    it('are not drift, whatever their names', () => {
      expect(entryDrift(entry, coWritten)).toBeUndefined();
    });

    it('leave a change of one of our keys drift', () => {
      const [key] = ours.annotations.filter((k) => k !== 'ecsmesh.io/event-version');
      expect(entryDrift(entry, { ...coWritten, metadata: { ...coWritten.metadata, annotations: { ...coWritten.metadata.annotations, [key!]: 'changed' } } })).toMatch(new RegExp(`annotations differ \\(${key}\\)`));
    });

    it('leave a key we own but no longer send drift (our apply removes it), and one nobody records as ours not', () => {
      const stale = { ...coWritten, metadata: { ...coWritten.metadata, labels: { ...coWritten.metadata.labels, old: 'x' } } };
      expect(entryDrift(entry, { ...stale, ownedKeys: { ...ours, labels: [...ours.labels, 'old'] } })).toMatch(/labels differ \(old\)/);
      expect(entryDrift(entry, stale)).toBeUndefined();
    });

    it('are drift when the mesh records no ownership (the file mesh: the whole entry is ours)', () => {
      const { ownedKeys: _unknown, ...unrecorded } = coWritten;
      expect(entryDrift(entry, unrecorded)).toMatch(/labels differ \(topology.istio.io\/subzone\)/);
    });
  });
});

describe('reconcileFence and ecsViewOf', () => {
  it("writes under ECS's version, else under the record's", () => {
    expect(reconcileFence({ state: 'running', version: 7 }, enrolled)).toBe(7);
    expect(reconcileFence({ state: 'running' }, enrolled)).toBe(3);
    expect(reconcileFence({ state: 'unknown' }, undefined)).toBe(0);
    expect(reconcileFence({ state: 'unwatched', cluster: 'prod' }, enrolled)).toBe(3);
  });

  it('reads running, starting and stopped from ECS statuses', () => {
    expect(ecsViewOf({ lastStatus: 'RUNNING', desiredStatus: 'RUNNING', version: 3 })).toEqual({ state: 'running', version: 3 });
    expect(ecsViewOf({ lastStatus: 'PENDING', desiredStatus: 'RUNNING' })).toEqual({ state: 'starting' });
    expect(ecsViewOf({ lastStatus: 'RUNNING', desiredStatus: 'STOPPED' })).toEqual({ state: 'stopped' });
    expect(ecsViewOf(undefined)).toEqual({ state: 'unknown' });
  });
});
