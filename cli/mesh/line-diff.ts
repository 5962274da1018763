/** A unified diff of two texts' lines (as `diff -u` prints it, without the file header), for `policy diff`. */

type Op = { kind: ' ' | '-' | '+'; line: string };

/** The hunks (`@@ -a,n +b,m @@` and their lines) turning `before` into `after`; none when they are equal. */
export function unifiedDiff(before: readonly string[], after: readonly string[], context = 3): string[] {
  const ops = editScript(before, after);
  const changed = ops.flatMap((op, i) => (op.kind === ' ' ? [] : [i]));
  if (changed.length === 0) return [];
  // Runs of changes closer than two contexts apart share a hunk.
  const hunks: [number, number][] = [];
  for (const i of changed) {
    const last = hunks.at(-1);
    if (last && i - last[1] <= 2 * context) last[1] = i;
    else hunks.push([i, i]);
  }
  const out: string[] = [];
  for (const [first, last] of hunks) {
    const from = Math.max(0, first - context);
    const to = Math.min(ops.length - 1, last + context);
    const slice = ops.slice(from, to + 1);
    const beforeStart = ops.slice(0, from).filter((o) => o.kind !== '+').length;
    const afterStart = ops.slice(0, from).filter((o) => o.kind !== '-').length;
    const beforeCount = slice.filter((o) => o.kind !== '+').length;
    const afterCount = slice.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${range(beforeStart, beforeCount)} +${range(afterStart, afterCount)} @@`, ...slice.map((o) => `${o.kind}${o.line}`));
  }
  return out;
}

// diff -u's convention: a range of no lines names the line before it.
function range(start: number, count: number): string {
  return count === 1 ? `${start + 1}` : `${count === 0 ? start : start + 1},${count}`;
}

/** A shortest edit script from the longest common subsequence (documents are small: O(n·m) is fine). */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i++]! });
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ kind: '-', line: a[i++]! });
    else ops.push({ kind: '+', line: b[j++]! });
  }
  return ops;
}
