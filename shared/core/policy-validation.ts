/**
 * Validates an OnboardingPolicy document as the policy API receives it and reports every
 * problem at once, each at its JSON pointer (RFC 6901), so an operator fixes a file in one pass.
 */
import { OnboardingPolicySchema, type OnboardingPolicy } from './schemas.js';
import { problemsOf, sortByPointer, withProtoKeyProblems, type ValidationProblem } from './validation-problems.js';

export type PolicyValidation = { ok: true; policy: OnboardingPolicy } | { ok: false; problems: ValidationProblem[] };

/** Where the document is being stored: its metadata must name the same place. */
export interface PolicyLocation {
  namespace: string;
  name: string;
}

export function validatePolicyDocument(document: unknown, location?: PolicyLocation): PolicyValidation {
  const result = OnboardingPolicySchema.safeParse(document);
  const problems = withProtoKeyProblems(document, result.success ? [] : problemsOf(result.error.issues));
  if (location) problems.push(...locationProblems(document, location));
  if (problems.length > 0) return { ok: false, problems: sortByPointer(problems) };
  return { ok: true, policy: (result as { data: OnboardingPolicy }).data };
}

function locationProblems(document: unknown, location: PolicyLocation): ValidationProblem[] {
  const metadata = (document as { metadata?: Record<string, unknown> } | null)?.metadata;
  const problems: ValidationProblem[] = [];
  for (const field of ['namespace', 'name'] as const) {
    const value = metadata?.[field];
    if (typeof value === 'string' && value !== location[field])
      problems.push({ pointer: `/metadata/${field}`, message: `is ${JSON.stringify(value)} but the request path names ${JSON.stringify(location[field])}` });
  }
  return problems;
}

