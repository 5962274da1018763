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

/**
 * Every own key named `__proto__` in a parsed document, as a problem at its pointer. JSON.parse
 * and the YAML parser keep such keys, but zod copies records by assignment, which drops them: the
 * document stored would silently differ from the one accepted (a `__proto__` tag requirement
 * would vanish). Iterative, so deep nesting cannot overflow the stack.
 */
export function protoKeyProblems(document: unknown): ValidationProblem[] {
  interface Visit { value: unknown; key?: string; parent?: Visit }
  const pointerOf = (visit: Visit): string => {
    const path: string[] = [];
    for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) path.push(at.key);
    return jsonPointer(path.reverse());
  };
  const problems: ValidationProblem[] = [];
  const pending: Visit[] = [{ value: document }];
  // YAML aliases can make a node appear twice, or inside itself: visit each object once.
  const seen = new Set<object>();
  for (let visit = pending.pop(); visit; visit = pending.pop()) {
    if (typeof visit.value !== 'object' || visit.value === null || seen.has(visit.value)) continue;
    seen.add(visit.value);
    for (const [key, value] of Object.entries(visit.value)) {
      const child = { value, key, parent: visit };
      if (key === '__proto__') problems.push({ pointer: pointerOf(child), message: 'key "__proto__": not allowed (a JavaScript object cannot keep it)' });
      pending.push(child);
    }
  }
  return problems;
}

/** `problems` plus the `__proto__` keys of `document`, which a schema cannot see: one problem per key. */
export function withProtoKeyProblems(document: unknown, problems: ValidationProblem[]): ValidationProblem[] {
  const proto = protoKeyProblems(document);
  const pointers = new Set(proto.map((p) => p.pointer));
  // A strict object also reports the key as an unknown field: say once, and why.
  return [...problems.filter((p) => !pointers.has(p.pointer)), ...proto];
}
