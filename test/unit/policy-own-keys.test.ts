/**
 * Policy evaluation over tag and label keys that JavaScript objects already "have": every name
 * on Object.prototype, `__proto__` included, next to ordinary keys. The decision must be the one
 * a reference evaluator gives that reads tags and labels through Maps, where nothing is inherited.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { evaluatePolicy } from '../../shared/core/policy.js';
import type { LabelSelector, OnboardingPolicy } from '../../shared/core/schemas.js';
import { ACCOUNT, aPolicy, anIdentity } from '../fixtures/builders.js';

const KEYS = [...Object.getOwnPropertyNames(Object.prototype), 'app', 'team', 'version'];
const VALUES = ['a', 'b', ''];

type LabelOperator = NonNullable<LabelSelector['matchExpressions']>[number]['operator'];

/** A record holding exactly these pairs: assignment would turn a `__proto__` pair into a prototype. */
const recordOf = <T>(pairs: [string, T][]): Record<string, T> => Object.fromEntries(pairs);
const pairsOf = <T>(value: fc.Arbitrary<T>) => fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), value), { selector: ([key]) => key, maxLength: 4 });

const selector: fc.Arbitrary<LabelSelector> = fc.record(
  {
    matchLabels: pairsOf(fc.constantFrom(...VALUES)).map(recordOf),
    matchExpressions: fc.array(
      fc.oneof(
        fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.subarray(VALUES, { minLength: 1 }) }),
        fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
      ),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
);

const rule = fc.record({
  workloads: fc.array(pairsOf(fc.subarray(VALUES)).map((tags) => ({ aws: { accounts: [ACCOUNT], ecs: { iamRoleTags: recordOf(tags) } } })), { minLength: 1, maxLength: 2 }),
  onboardTo: fc.array(selector.map((workloadGroupSelector) => ({ workloadGroupSelector })), { minLength: 1, maxLength: 2 }),
});

const attributes = pairsOf(fc.constantFrom(...VALUES));

/** The reference: the same rules, written over Maps. */
function referenceAllows(policy: OnboardingPolicy, tags: Map<string, string>, labels: Map<string, string>): boolean {
  const tagsMatch = (required: Map<string, string[]>) => [...required].every(([key, values]) => tags.has(key) && (values.length === 0 || values.includes(tags.get(key)!)));
  const expressionHolds = (key: string, operator: LabelOperator, values: string[]) => {
    const present = labels.has(key);
    if (operator === 'Exists') return present;
    if (operator === 'DoesNotExist') return !present;
    if (operator === 'In') return present && values.includes(labels.get(key)!);
    return !present || !values.includes(labels.get(key)!);
  };
  const selects = (s: LabelSelector) =>
    [...new Map(Object.entries(s.matchLabels ?? {}))].every(([key, value]) => labels.has(key) && labels.get(key) === value) &&
    (s.matchExpressions ?? []).every((e) => expressionHolds(e.key, e.operator, e.values ?? []));
  return policy.spec.allow.some(
    (r) => r.workloads.some((w) => tagsMatch(new Map(Object.entries(w.aws.ecs?.iamRoleTags ?? {})))) && r.onboardTo.some((t) => selects(t.workloadGroupSelector)),
  );
}

describe('evaluatePolicy over keys named like Object.prototype members', () => {
  it('decides as a Map-based reference does', () => {
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 3 }), attributes, attributes, (allow, tagPairs, labelPairs) => {
        const policy = aPolicy({ allow });

        const decision = evaluatePolicy([{ name: policy.metadata.name, policy }], anIdentity({ roleTags: recordOf(tagPairs) }), { namespace: 'bookinfo', name: 'ratings', labels: recordOf(labelPairs) });

        expect(decision.allowed).toBe(referenceAllows(policy, new Map(tagPairs), new Map(labelPairs)));
      }),
      { numRuns: 500 },
    );
  });
});
