import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SKIPPED = new Set(['.git', 'node_modules', '.venv', '.serverless', '.esbuild', '.local', 'dist', 'coverage', 'vendor', '.vitest-aws-calls']);
const TEXT = /\.(ts|mjs|js|json|ya?ml|md)$/;

/** Every text file of the repository (generated and vendored folders left out). */
function repoFiles(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name) || entry.name.startsWith('.vitest-report')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return repoFiles(path);
    return TEXT.test(entry.name) && entry.name !== 'package-lock.json' ? [path] : [];
  });
}

/** The `id`s of the `<a id="...">` anchors of docs/architecture.md. */
const anchors = new Set([...readFileSync(join(root, 'docs/architecture.md'), 'utf8').matchAll(/<a id="([a-z0-9-]+)"><\/a>/g)].map((m) => m[1]));

describe('Repository: self-contained', () => {
  it('cites only sections that docs/architecture.md has', () => {
    const cited: string[] = [];
    for (const file of repoFiles()) {
      for (const match of readFileSync(file, 'utf8').matchAll(/docs\/architecture\.md((?:#[a-z0-9-]+(?:, )?)+)/g))
        for (const anchor of match[1]!.split(/, ?/)) cited.push(`${relative(root, file)} ${anchor}`);
    }

    const missing = cited.filter((c) => !anchors.has(c.split(' #')[1]!));

    expect(cited.length).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  it('reads and cites nothing outside the repository: no sibling folder, no section mark of a design document it does not hold', () => {
    // Built from parts, so this file holds neither string itself and needs no exception.
    const sibling = ['..', 'shared'].join('/');
    const outside = new RegExp(`DESIGN\\x20\u00a7|${sibling.replace(/\./g, '\\.')}/(?:istio-crds|DESIGN|STYLE|TOOLCHAIN)`);

    const offenders = repoFiles()
      .filter((file) => outside.test(readFileSync(file, 'utf8')))
      .map((file) => relative(root, file));

    expect(offenders).toEqual([]);
  });
});
