/** The README convention test/integration/readme-blocks.test.ts runs (its header describes it): pages, blocks, markers, expected output. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MARKER = /^\s*<!-- readme-test: (.*?) -->\s*$/;

export interface Block {
  /** `README.md:139`: the file and the line of the opening fence. */
  where: string;
  script: string;
  mode: 'run' | 'local' | { skip: string };
  /** The ```text block right after it, line by line. */
  expected?: string[];
}

/** The front page's section that lists the guides, in reading order. */
const GUIDES_HEADING = '## Where to go next';

/**
 * The pages whose blocks run, in order: README.md, the guides of docs/ in the order its "Where to
 * go next" lists them (a later guide's blocks may rely on what an earlier one did, as a reader
 * would), then events/README.md. A guide it does not list, or lists but docs/ lacks, is an error:
 * its blocks would never run.
 */
export function guidePages(readme: string, docs: readonly string[]): string[] {
  const start = readme.indexOf(GUIDES_HEADING);
  if (start < 0) throw new Error(`README.md: no "${GUIDES_HEADING}" section listing the guides`);
  const end = readme.indexOf('\n## ', start + GUIDES_HEADING.length);
  const listed = [...new Set([...readme.slice(start, end < 0 ? undefined : end).matchAll(/\]\((docs\/[\w-]+\.md)\)/g)].map((m) => m[1]!))];
  const unlisted = docs.filter((page) => !listed.includes(page));
  if (unlisted.length > 0) throw new Error(`README.md: "${GUIDES_HEADING}" does not list ${unlisted.join(', ')}, so its blocks would never run`);
  const absent = listed.filter((page) => !docs.includes(page));
  if (absent.length > 0) throw new Error(`README.md: "${GUIDES_HEADING}" lists ${absent.join(', ')}, which docs/ does not have`);
  return ['README.md', ...listed, 'events/README.md'];
}

/** {@link guidePages} of the repository at `root`. */
export function documentationPages(root: string): string[] {
  const docs = readdirSync(join(root, 'docs')).filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`);
  return guidePages(readFileSync(join(root, 'README.md'), 'utf8'), docs);
}

/** The fenced blocks of `file` with the marker before each; an unknown marker or a skip without a reason fails here. */
export function shellBlocks(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const fences: { start: number; lang: string; body: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!;
    const end = lines.findIndex((l, j) => j > i && l === `${indent}\`\`\``);
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed fence`);
    fences.push({ start: i, lang: open[2]!, body: lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l)) });
    i = end;
  }
  const blocks: Block[] = [];
  fences.forEach((fence, n) => {
    if (fence.lang !== 'sh') return;
    const before = lines.slice(0, fence.start).reverse().find((l) => l.trim() !== '') ?? '';
    const marker = MARKER.exec(before)?.[1];
    let mode: Block['mode'] = 'run';
    if (marker === 'local') mode = 'local';
    else if (marker !== undefined) {
      const skip = /^skip: (\S.*)$/.exec(marker);
      if (!skip) throw new Error(`${file}:${fence.start + 1}: unknown readme-test marker "${marker}" (local, or skip: <reason>)`);
      mode = { skip: skip[1]! };
    }
    const next = fences[n + 1];
    const adjacent = next?.lang === 'text' && lines.slice(fence.start + fence.body.length + 2, next.start).every((l) => l.trim() === '');
    blocks.push({ where: `${file}:${fence.start + 1}`, script: fence.body.join('\n'), mode, ...(adjacent ? { expected: next.body } : {}) });
  });
  return blocks;
}

/** Whether `output` holds a line matching each expected line, in order (`…` matches anything). */
export function showsInOrder(output: string, expected: readonly string[]): boolean {
  const lines = output.split('\n');
  let at = 0;
  for (const want of expected) {
    const pattern = new RegExp(`^${want.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    while (at < lines.length && !pattern.test(lines[at]!)) at++;
    if (at === lines.length) return false;
    at++;
  }
  return true;
}

