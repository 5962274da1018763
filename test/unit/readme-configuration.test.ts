// The README's "Configuration (environment of the Lambdas)" table against shared/config.ts: every
// variable a function reads is documented, and every documented variable is read by some function.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FUNCTION_SETTINGS } from '../../shared/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const start = readme.indexOf('## Configuration (environment of the Lambdas)');
const section = readme.slice(start, readme.indexOf('\n## ', start + 3));
const documented = new Set(
  section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!)),
);
const read = new Set(Object.values(FUNCTION_SETTINGS).flatMap((shape) => Object.keys(shape)));

describe("README's configuration table", () => {
  it('documents every variable a function reads', () => {
    expect([...read].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });

  it('documents no variable that no function reads', () => {
    expect([...documented].filter((name) => !read.has(name)).sort()).toEqual([]);
  });
});
