import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentationPages, guidePages, shellBlocks, showsInOrder } from '../support/readme-blocks.js';

describe('shellBlocks (the README test\'s convention)', () => {
  const readme = [
    '# Title',
    '```sh',
    'npm run a',
    '```',
    '```text',
    'out …',
    '```',
    '<!-- readme-test: skip: needs a deployed stack -->',
    '```sh',
    'kubectl apply -f x',
    '```',
    '- a list item:',
    '',
    '  <!-- readme-test: local -->',
    '',
    '  ```sh',
    '  curl "$ECS_MESH_API_URL"',
    '  ```',
    '```yaml',
    'a: 1',
    '```',
    '```json',
    '{}',
    '```',
  ].join('\n');

  it('finds sh blocks, indented ones too, with their marker and the text block right after', () => {
    expect(shellBlocks('R.md', readme)).toEqual([
      { where: 'R.md:2', script: 'npm run a', mode: 'run', expected: ['out …'] },
      { where: 'R.md:9', script: 'kubectl apply -f x', mode: { skip: 'needs a deployed stack' } },
      { where: 'R.md:16', script: 'curl "$ECS_MESH_API_URL"', mode: 'local' },
    ]);
  });

  it('takes a text block as the output only right after the block', () => {
    expect(shellBlocks('R.md', '```sh\ntrue\n```\nprose\n```text\nx\n```\n')).toEqual([{ where: 'R.md:1', script: 'true', mode: 'run' }]);
  });

  it('refuses a marker it does not know, a skip without a reason, and an unclosed fence', () => {
    expect(() => shellBlocks('x.md', '<!-- readme-test: maybe -->\n```sh\ntrue\n```\n')).toThrow('x.md:2: unknown readme-test marker "maybe"');
    expect(() => shellBlocks('x.md', '<!-- readme-test: skip: -->\n```sh\ntrue\n```\n')).toThrow('unknown readme-test marker');
    expect(() => shellBlocks('x.md', '```sh\ntrue\n')).toThrow('x.md:1: unclosed fence');
  });
});

describe('showsInOrder', () => {
  const output = '> npm banner\n# profile=kuma kid=abc alg=RS256 state=active signs-from=2026\n-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n';

  it('matches each expected line to a later output line, … matching anything', () => {
    expect(showsInOrder(output, ['# profile=kuma kid=… alg=RS256 state=… signs-from=…', '-----BEGIN PUBLIC KEY-----', '…'])).toBe(true);
  });

  it.each([
    { case: 'a line that is not there', expected: ['# profile=istio kid=…'] },
    { case: 'lines out of order', expected: ['-----BEGIN PUBLIC KEY-----', '# profile=kuma …'] },
    { case: 'a part of a line only', expected: ['BEGIN PUBLIC KEY'] },
    { case: 'regex characters taken literally', expected: ['# profile=kuma kid=.* alg=RS256 state=active signs-from=2026'] },
  ])('refuses $case', ({ expected }) => {
    expect(showsInOrder(output, expected)).toBe(false);
  });
});

describe('guidePages (which pages run, in which order)', () => {
  // Page names built from parts, so the check that cited pages exist (doc-links.test.ts) does not read these made-up ones.
  const page = (name: string) => ['docs', `${name}.md`].join('/');
  const readme = ['# Title', `See [the tokens](${page('tokens')}) first.`, '## Where to go next', `- [b](${page('b')}): second`, `- [a](${page('a')}): first? no, after b`, `- [b again](${page('b')})`, '## Later', `- [c](${page('c')})`].join('\n');

  it('runs README.md, then the guides in the order "Where to go next" lists them, then events/README.md', () => {
    expect(guidePages(readme, [page('a'), page('b')])).toEqual(['README.md', page('b'), page('a'), 'events/README.md']);
  });

  it('refuses a guide the list leaves out, since its blocks would never run, and one docs/ lacks', () => {
    expect(() => guidePages(readme, [page('a'), page('b'), page('c')])).toThrow(`does not list ${page('c')}`);
    expect(() => guidePages(readme, [page('a')])).toThrow(`lists ${page('b')}, which docs/ does not have`);
    expect(() => guidePages('# Title', [])).toThrow('no "## Where to go next"');
  });

  it("lists every page of this repository's docs/, whose blocks all run as many as before they moved there", () => {
    const root = new URL('../../', import.meta.url).pathname;
    const pages = documentationPages(root);
    const running = pages.flatMap((file) => shellBlocks(file, readFileSync(join(root, file), 'utf8'))).filter((block) => typeof block.mode !== 'object');

    expect(pages.length).toBeGreaterThan(10);
    // README.md and events/README.md ran 17 before the guides left README.md (issue 21); fewer means some stopped running.
    expect(running.length).toBeGreaterThanOrEqual(17);
  });
});
