import { describe, expect, it } from 'vitest';
import { PHASES } from '../../shared/core/enrollment.js';
import { cursorFits, matchesFilter, planEnrollmentQuery } from '../../shared/core/enrollment-index.js';
import { aRecord } from '../fixtures/builders.js';

describe('planEnrollmentQuery', () => {
  it.each([
    { case: 'a repair kind first', filter: { repairKind: 'revoked', namespace: 'shop', phase: 'rejected' }, index: 'byRepair', partitions: ['revoked'], rest: { namespace: 'shop', phase: 'rejected' } },
    { case: 'a namespace before a cluster', filter: { namespace: 'shop', clusterName: 'prod' }, index: 'byNamespace', partitions: ['shop'], rest: { clusterName: 'prod' } },
    { case: 'a cluster before a phase', filter: { clusterName: 'prod', phase: 'enrolled' }, index: 'byCluster', partitions: ['prod'], rest: { phase: 'enrolled' } },
    { case: 'a phase alone', filter: { phase: 'pending' }, index: 'byPhase', partitions: ['pending'], rest: {} },
    { case: 'no filter: every phase in turn', filter: {}, index: 'byPhase', partitions: [...PHASES], rest: {} },
  ] as const)('queries by $case', ({ filter, index, partitions, rest }) => {
    expect(planEnrollmentQuery(filter)).toEqual({ index, keyAttribute: expect.any(String), partitions, rest });
  });

  it('fits a cursor only to a plan that reads its partition', () => {
    expect(cursorFits(planEnrollmentQuery({}), { partition: 'rejected', after: 'x' })).toBe(true);
    expect(cursorFits(planEnrollmentQuery({ namespace: 'shop' }), { partition: 'rejected' })).toBe(false);
    expect(cursorFits(planEnrollmentQuery({ namespace: 'shop' }), { partition: 'shop', after: 'x' })).toBe(true);
  });
});

describe('matchesFilter', () => {
  const record = aRecord({ namespace: 'shop', phase: 'enrolled', repair: { kind: 'missing', at: '', why: '' } });

  it.each([
    { filter: {}, matches: true },
    { filter: { namespace: 'shop', clusterName: 'prod', phase: 'enrolled', repairKind: 'missing' }, matches: true },
    { filter: { namespace: 'other' }, matches: false },
    { filter: { phase: 'pending' }, matches: false },
    { filter: { repairKind: 'drifted' }, matches: false },
  ] as const)('$filter → $matches', ({ filter, matches }) => {
    expect(matchesFilter(record, filter)).toBe(matches);
  });
});
