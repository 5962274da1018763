/**
 * The policy half of an enrollment decision (docs/architecture.md#policy): the group's labels (from the mesh, or
 * given for a what-if), the namespace's policies, and a trace of every policy's verdict. Both
 * task-events and explain come through here, so they cannot disagree.
 */
import { evaluatePolicy, describeDenial, type EvaluatedPolicy } from '../core/policy.js';
import { REASONS } from '../core/reasons.js';
import type { TaskIdentity } from '../core/task.js';
import type { ObjectRef, WorkloadGroup } from '../core/kubernetes-types.js';
import type { DecisionDeps } from './deps.js';

export interface PolicyVerdict {
  policy: string;
  revision: number;
  /** `not-evaluated`: a policy sorted after the one that allowed. */
  result: 'allowed' | 'no-match' | 'invalid' | 'not-evaluated';
  rule?: number;
  reasons: string[];
}

export type AccessDecision =
  | { allowed: true; group: WorkloadGroup | undefined; labels: Record<string, string>; policy: string; rule: number; trace: PolicyVerdict[] }
  | { allowed: false; reason: typeof REASONS.WORKLOAD_GROUP_NOT_FOUND | typeof REASONS.POLICY_DENIED; detail: string; labels?: Record<string, string>; trace: PolicyVerdict[] };

/** `labels` given: evaluate against them instead of reading the WorkloadGroup. */
export async function evaluateAccess(identity: TaskIdentity, groupRef: ObjectRef, deps: Pick<DecisionDeps, 'policies' | 'mesh'>, labels?: Record<string, string>): Promise<AccessDecision> {
  const group = labels ? undefined : await deps.mesh.getWorkloadGroup(groupRef);
  if (!labels && !group)
    return { allowed: false, reason: REASONS.WORKLOAD_GROUP_NOT_FOUND, detail: `WorkloadGroup ${groupRef.namespace}/${groupRef.name} does not exist in the mesh`, trace: [] };
  const groupLabels = labels ?? group?.metadata.labels ?? {};
  const stored = await deps.policies.listPolicies(groupRef.namespace);
  const policies: EvaluatedPolicy[] = stored.map((p) => (p.valid ? { name: p.name, policy: p.policy } : { name: p.name, problem: p.problem }));
  const decision = evaluatePolicy(policies, identity, { namespace: groupRef.namespace, name: groupRef.name, labels: groupLabels });
  const misses = new Map(decision.misses.map((m) => [m.policy, m.reasons]));
  const trace: PolicyVerdict[] = [...stored]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((p) => {
      if (decision.allowed && p.name === decision.policy) return { policy: p.name, revision: p.revision, result: 'allowed', rule: decision.rule, reasons: [`rule ${decision.rule} matches`] };
      const reasons = misses.get(p.name);
      if (!reasons) return { policy: p.name, revision: p.revision, result: 'not-evaluated', reasons: ['an earlier policy (by name) already allowed'] };
      return { policy: p.name, revision: p.revision, result: p.valid ? 'no-match' : 'invalid', reasons };
    });
  if (!decision.allowed) return { allowed: false, reason: REASONS.POLICY_DENIED, detail: describeDenial(decision.misses, groupRef.namespace), labels: groupLabels, trace };
  return { allowed: true, group, labels: groupLabels, policy: decision.policy, rule: decision.rule, trace };
}
