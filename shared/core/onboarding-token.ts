/**
 * Claims of a per-task onboarding token (docs/architecture.md#tokens, #exchange): the service token's profile claims,
 * bound to one task and its WorkloadEntry so it can be told apart from (and outlives no
 * longer than) the task it was issued to.
 */
import { serviceTokenClaims, type ServiceTokenClaims, type ServiceTokenClaimsInput } from './token-claims.js';

export const TASK_ARN_CLAIM = 'ecsmesh.io/task-arn';
export const WORKLOAD_ENTRY_CLAIM = 'ecsmesh.io/workload-entry';

export interface OnboardingTokenInput extends ServiceTokenClaimsInput {
  taskArn: string;
  entryName: string;
}

/** The onboarding token's claims for its profile. */
export function onboardingTokenClaims(input: OnboardingTokenInput): ServiceTokenClaims & Record<string, unknown> {
  const base = serviceTokenClaims(input);
  if (input.profile === 'kuma') {
    // Kuma checks Name against the data plane's name: a per-task token names its own entry.
    return { ...base, Name: input.entryName };
  }
  return { ...base, [TASK_ARN_CLAIM]: input.taskArn, [WORKLOAD_ENTRY_CLAIM]: `${input.group.metadata.namespace}/${input.entryName}` };
}

/** Whether every requested label is one the group or the task's label tags already give. */
export function labelsAllowed(requested: Record<string, string>, allowed: Record<string, string>): string | undefined {
  for (const [key, value] of Object.entries(requested)) {
    if (!Object.hasOwn(allowed, key) || allowed[key] !== value) return `label ${key}=${value} is not among the labels the group and task allow`;
  }
  return undefined;
}

/** A caller from STS: an assumed role's account, role name and session, or why it is not one. */
export function parseAssumedRole(arn: string): { partition: string; account: string; roleName: string; session: string } | undefined {
  const match = /^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{2,64})$/.exec(arn);
  if (!match) return undefined;
  const [, partition, account, roleName, session] = match as unknown as [string, string, string, string, string];
  return { partition, account, roleName, session };
}
