/**
 * Schema issues as an API answers them: one problem per bad value, each at its JSON pointer
 * (RFC 6901) into the submitted document, so a caller can fix everything in one pass.
 */
import type * as z from 'zod/mini';

export interface ValidationProblem {
  /** `/spec/allow/0/workloads/0/aws/accounts/1`; the empty string is the whole document. */
  pointer: string;
  message: string;
}

/** RFC 6901: `~` → `~0`, `/` → `~1` (label keys such as `app.kubernetes.io/name` contain `/`). */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((part) => `/${String(part).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** An unknown field is reported at its own pointer; a bad record key at the key's pointer. */
export function problemsOf(issues: readonly z.core.$ZodIssue[]): ValidationProblem[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ pointer: jsonPointer([...issue.path, key]), message: 'unknown field' }));
    if (issue.code === 'invalid_key')
      return issue.issues.map((inner) => ({ pointer: jsonPointer(issue.path), message: `key ${JSON.stringify(String(issue.path.at(-1)))}: ${inner.message}` }));
    return [{ pointer: jsonPointer(issue.path), message: issue.message }];
  });
}

export function sortByPointer(problems: ValidationProblem[]): ValidationProblem[] {
  return [...problems].sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0));
}

/** One line per problem, for records and logs. */
export function describeProblems(problems: ValidationProblem[]): string {
  return problems.map((p) => `${p.pointer || '/'}: ${p.message}`).join('; ');
}
