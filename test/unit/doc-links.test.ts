// The documentation's links resolve (issue 21: the README's sections moved into docs/, and a link
// or a code comment left pointing at the old place would send a reader nowhere): every relative
// Markdown link of the repository's pages names a file that exists and, for a page, a heading or
// `<a id>` it has; every `docs/<page>.md#<anchor>` a file cites, the same.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SKIPPED = new Set(['.git', 'node_modules', '.venv', '.serverless', '.esbuild', '.local', 'dist', 'coverage', 'vendor', '.vitest-aws-calls']);

function files(dir: string, keep: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name) || entry.name.startsWith('.vitest-report')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path, keep);
    return keep.test(entry.name) && entry.name !== 'package-lock.json' ? [path] : [];
  });
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const slugOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** The anchors a Markdown page has: its headings' (outside code fences; a repeated one gets -1, -2…) and its `<a id>`s. */
function anchorsOf(path: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6} (.*)$/.exec(line)?.[1];
    if (heading !== undefined) {
      const slug = slugOf(heading);
      const n = seen.get(slug) ?? 0;
      anchors.add(n === 0 ? slug : `${slug}-${n}`);
      seen.set(slug, n + 1);
    }
    for (const m of line.matchAll(/<a id="([^"]+)"><\/a>/g)) anchors.add(m[1]!);
  }
  return anchors;
}

/** Why `target` (a path, maybe with `#anchor`, relative to `from`'s folder) does not resolve, or undefined. */
function unresolved(from: string, target: string): string | undefined {
  const [path = '', anchor] = target.split('#');
  const file = path === '' ? from : join(dirname(from), decodeURIComponent(path));
  if (!existsSync(file)) return 'no such file';
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return 'an anchor into what is not a page';
  return anchorsOf(file).has(anchor) ? undefined : `no heading or <a id> "${anchor}" in ${relative(root, file)}`;
}

describe('Documentation links', () => {
  it('every relative link of a Markdown page resolves, anchor included', () => {
    const broken: string[] = [];
    let links = 0;
    for (const page of files(root, /\.md$/)) {
      let fenced = false;
      readFileSync(page, 'utf8').split('\n').forEach((line, i) => {
        if (/^\s*```/.test(line)) fenced = !fenced;
        if (fenced) return;
        for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          const target = m[1]!;
          if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
          links++;
          const why = unresolved(page, target);
          if (why) broken.push(`${relative(root, page)}:${i + 1}: (${target}): ${why}`);
        }
      });
    }

    expect(links).toBeGreaterThan(50);
    expect(broken).toEqual([]);
  });

  it('every docs/<page>.md#<anchor> a file cites resolves', () => {
    const broken: string[] = [];
    let cites = 0;
    for (const file of files(root, /\.(ts|mjs|cjs|js|json|ya?ml|md)$|^Dockerfile/)) {
      const text = readFileSync(file, 'utf8');
      // The repository-relative form (a page's relative links are the first test's: `../docs/…` is not read here).
      for (const m of text.matchAll(/(?<![\w/.-])docs\/([\w-]+\.md)((?:#[a-z0-9-]+(?:, ?#[a-z0-9-]+)*)?)/g)) {
        for (const anchor of m[2] ? m[2].split(/, ?/).filter(Boolean) : ['']) {
          cites++;
          const why = unresolved(join(root, 'docs', m[1]!), anchor);
          if (why) broken.push(`${relative(root, file)}: docs/${m[1]}${anchor}: ${why}`);
        }
      }
    }

    expect(cites).toBeGreaterThan(50);
    expect(broken).toEqual([]);
  });
});
