import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDocuments } from '../../cli/mesh/documents.js';
import { DocumentsError } from '../../cli/mesh/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecs-mesh-docs-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('readDocuments', () => {
  it('numbers documents by their place in the file, empty ones counted but skipped', async () => {
    await writeFile(join(dir, 'p.yml'), '---\na: 1\n---\n# only a comment\n---\nb: 2\n');

    const documents = await readDocuments(['p.yml'], dir);

    expect(documents).toEqual([
      { file: 'p.yml', index: 1, value: { a: 1 } },
      { file: 'p.yml', index: 3, value: { b: 2 } },
    ]);
  });

  it('reads a directory non-recursively, by name, .yaml .yml and .json only', async () => {
    await writeFile(join(dir, 'b.json'), '{"b": 1}');
    await writeFile(join(dir, 'a.YAML'), 'a: 1');
    await writeFile(join(dir, 'c.yml'), 'c: 1');
    await writeFile(join(dir, 'd.txt'), 'd: 1');
    await writeFile(join(dir, 'empty.json'), '  \n');
    await mkdir(join(dir, 'sub.yaml'));

    const documents = await readDocuments(['.'], dir);

    expect(documents.map((d) => [d.file, d.value])).toEqual([
      ['a.YAML', { a: 1 }],
      ['b.json', { b: 1 }],
      ['c.yml', { c: 1 }],
    ]);
  });

  it('names every file and document it cannot read or parse', async () => {
    await writeFile(join(dir, 'dup.yaml'), 'a: 1\n---\nb: 1\nb: 2\n');
    await writeFile(join(dir, 'bad.json'), '{"a": }');

    const failure = await readDocuments(['dup.yaml', 'bad.json', 'nope'], dir).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DocumentsError);
    const failures = (failure as DocumentsError).failures;
    expect(failures).toHaveLength(3);
    expect(failures[0]).toMatch(/^dup\.yaml: document 2: Map keys must be unique/);
    expect(failures[1]).toMatch(/^bad\.json: document 1: /);
    expect(failures[2]).toBe('nope: cannot read: no such file or directory');
  });

  it('refuses a JSON file that repeats a key, as the API would, instead of keeping the last value', async () => {
    await writeFile(join(dir, 'dup.json'), '{"kind": "OnboardingPolicy", "kind": "Other"}');

    const failure = await readDocuments(['dup.json'], dir).catch((error: unknown) => error);

    expect((failure as DocumentsError).failures).toEqual(['dup.json: document 1: a JSON object repeats a key']);
  });

  it('keeps __proto__ keys of JSON and YAML files, so the API sees and refuses them', async () => {
    await writeFile(join(dir, 'a.json'), '{"labels": {"__proto__": "x"}}');
    await writeFile(join(dir, 'b.yaml'), 'labels: { __proto__: x }\n');

    const documents = await readDocuments(['.'], dir);

    expect(documents.map((d) => JSON.stringify(d.value))).toEqual(['{"labels":{"__proto__":"x"}}', '{"labels":{"__proto__":"x"}}']);
  });

  it('names YAML documents whose aliases the API would refuse, or that cannot be sent as JSON, before sending any', async () => {
    await writeFile(join(dir, 'a.yaml'), 'a: *nowhere\n');
    await writeFile(join(dir, 'b.yaml'), `a: &a x\nb: [${Array(40).fill('*a').join(', ')}]\n`);
    await writeFile(join(dir, 'c.yaml'), 'metadata: &m { labels: *m }\n');

    const failure = await readDocuments(['.'], dir).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DocumentsError);
    expect((failure as DocumentsError).failures).toEqual([
      expect.stringMatching(/^a\.yaml: document 1: Unresolved alias/),
      expect.stringMatching(/^b\.yaml: document 1: YAML aliases expand the document too far/),
      'c.yaml: document 1: an alias refers to a node that contains it',
    ]);
  });
});
