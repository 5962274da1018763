/**
 * Policy evaluation (docs/architecture.md#policy): a rule allows when any of its `workloads` matches the task's
 * identity and any of its `onboardTo` selectors matches the WorkloadGroup's labels. A policy
 * only ever grants groups of its own namespace. Every "no" says why, per policy and rule.
 */
import type { AwsMatcher, LabelSelector, OnboardingPolicy } from './schemas.js';
import type { TaskIdentity } from './task.js';
import { ownValue } from './own-keys.js';

/** A policy as evaluation sees it: valid documents, or a stored one that failed validation. */
export type EvaluatedPolicy = { name: string; policy: OnboardingPolicy } | { name: string; problem: string };

export interface GroupFacts {
  namespace: string;
  name: string;
  labels: Record<string, string>;
}

export interface PolicyMiss {
  policy: string;
  /** One line per rule (or for the whole policy) saying what did not match. */
  reasons: string[];
}

/** When allowed, `misses` holds the policies evaluated (in name order) before the one that allowed. */
export type PolicyDecision =
  | { allowed: true; policy: string; rule: number; misses: PolicyMiss[] }
  | { allowed: false; misses: PolicyMiss[] };

/** Decides whether `identity` may join `group`, and explains the answer. */
export function evaluatePolicy(policies: EvaluatedPolicy[], identity: TaskIdentity, group: GroupFacts): PolicyDecision {
  const misses: PolicyMiss[] = [];
  for (const entry of [...policies].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!('policy' in entry)) {
      misses.push({ policy: entry.name, reasons: [`stored policy is invalid: ${entry.problem}`] });
      continue;
    }
    const { policy } = entry;
    if (policy.metadata.namespace !== group.namespace) {
      misses.push({ policy: entry.name, reasons: [`policy namespace ${policy.metadata.namespace} is not ${group.namespace}`] });
      continue;
    }
    const reasons: string[] = [];
    for (const [index, rule] of policy.spec.allow.entries()) {
      const workloadMisses = rule.workloads.map((w) => matchAws(w.aws, identity));
      const workloadOk = workloadMisses.some((m) => m === undefined);
      const groupMisses = rule.onboardTo.map((t) => matchSelector(t.workloadGroupSelector, group.labels));
      const groupOk = groupMisses.some((m) => m === undefined);
      if (workloadOk && groupOk) return { allowed: true, policy: entry.name, rule: index, misses };
      const why = [
        ...(workloadOk ? [] : [`workloads: ${workloadMisses.join('; ')}`]),
        ...(groupOk ? [] : [`onboardTo: ${groupMisses.join('; ')}`]),
      ];
      reasons.push(`rule ${index}: ${why.join(' | ')}`);
    }
    if (reasons.length === 0) reasons.push('policy has no allow rules');
    misses.push({ policy: entry.name, reasons });
  }
  return { allowed: false, misses };
}

/** Renders a denial as one line for records and logs. */
export function describeDenial(misses: PolicyMiss[], namespace: string): string {
  if (misses.length === 0) return `no OnboardingPolicy in namespace ${namespace}`;
  return misses.map((m) => `${m.policy}: ${m.reasons.join('; ')}`).join(' || ');
}

/** `undefined` when it matches, else what did not. Absent or empty lists match anything. */
function matchAws(aws: AwsMatcher, id: TaskIdentity): string | undefined {
  const listMiss = (field: string, allowed: string[] | undefined, actual: string | undefined) =>
    allowed && allowed.length > 0 && (actual === undefined || !allowed.includes(actual))
      ? `${field} ${actual ?? '(unknown)'} not in [${allowed.join(', ')}]`
      : undefined;
  const miss =
    listMiss('partition', aws.partitions, id.partition) ??
    listMiss('account', aws.accounts, id.accountId) ??
    listMiss('region', aws.regions, id.region) ??
    listMiss('zone', aws.zones, id.zone);
  if (miss) return miss;
  if (!aws.ecs) return 'not an ECS matcher';
  return (
    listMiss('cluster', aws.ecs.clusters, id.clusterName) ??
    listMiss('role', aws.ecs.iamRoleNames, id.role.name) ??
    matchRoleTags(aws.ecs.iamRoleTags, id.role.tags)
  );
}

function matchRoleTags(required: Record<string, string[]> | undefined, tags: Record<string, string>): string | undefined {
  for (const [key, values] of Object.entries(required ?? {})) {
    const actual = ownValue(tags, key);
    if (actual === undefined) return `role tag ${key} missing`;
    if (values.length > 0 && !values.includes(actual)) return `role tag ${key}=${actual} not in [${values.join(', ')}]`;
  }
  return undefined;
}

/** Kubernetes LabelSelector semantics: every matchLabels pair and every expression must hold. */
export function matchSelector(selector: LabelSelector, labels: Record<string, string>): string | undefined {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const actual = ownValue(labels, key);
    if (actual !== value) return `group label ${key}=${actual ?? '(absent)'} is not ${value}`;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const actual = ownValue(labels, expr.key);
    const values = expr.values ?? [];
    const ok =
      expr.operator === 'Exists' ? actual !== undefined
      : expr.operator === 'DoesNotExist' ? actual === undefined
      : expr.operator === 'In' ? actual !== undefined && values.includes(actual)
      : actual === undefined || !values.includes(actual);
    if (!ok) return `group label ${expr.key} fails ${expr.operator} [${values.join(', ')}]`;
  }
  return undefined;
}
