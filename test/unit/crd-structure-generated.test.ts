import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCrdValidator } from '../../shared/core/crd-schema-compiler.js';
import { validateWorkloadEntry, validateWorkloadGroup, type CrdValidationResult } from '../../shared/core/crd-validation.js';
import istioCrds from '../../shared/core/istio-crds.json' with { type: 'json' };
import { GENERATED_FILE, renderCrdStructureModule } from '../../scripts/generate-crd-validators.js';

type Json = unknown;

/** Every property path the schema declares (array items as index 0), up to `depth` levels. */
function schemaPaths(schema: Record<string, unknown>, prefix: string[] = [], depth = 6): string[][] {
  if (depth === 0) return [];
  const paths: string[][] = [];
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, sub] of Object.entries(properties)) {
    const path = [...prefix, name];
    paths.push(path, ...schemaPaths(sub, path, depth - 1));
    if (sub.items) paths.push([...path, '0'], ...schemaPaths(sub.items as Record<string, unknown>, [...path, '0'], depth - 1));
    if (typeof sub.additionalProperties === 'object') paths.push([...path, 'extra'], ...schemaPaths(sub.additionalProperties as Record<string, unknown>, [...path, 'extra'], depth - 1));
  }
  return paths;
}

/** `base` with each value set at its path, creating objects (or arrays, for index 0) on the way. */
function withValues(base: Json, changes: Array<[string[], Json]>): Json {
  const root = structuredClone(base) as Record<string, unknown>;
  for (const [path, value] of changes) {
    let node: Record<string, unknown> = root;
    path.slice(0, -1).forEach((key, i) => {
      const next = node[key];
      if (typeof next !== 'object' || next === null) node[key] = path[i + 1] === '0' ? [] : {};
      node = node[key] as Record<string, unknown>;
    });
    node[path.at(-1)!] = value;
  }
  return root;
}

const problems = (r: CrdValidationResult) => (r.ok ? [] : [...r.problems].sort());

const KINDS = [
  {
    kind: 'WorkloadEntry' as const,
    generated: validateWorkloadEntry,
    base: { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'a', namespace: 'n' }, spec: { address: '10.0.0.1', ports: { http: 80 } } },
  },
  {
    kind: 'WorkloadGroup' as const,
    generated: validateWorkloadGroup,
    base: { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'a', namespace: 'n' }, spec: { template: { ports: { http: 80 } }, probe: { httpGet: { port: 80 } } } },
  },
];

describe('File: shared/core/istio-crd-structure.generated.js', () => {
  it('is what scripts/generate-crd-validators.ts generates from istio-crds.json now', () => {
    const committed = readFileSync(GENERATED_FILE, 'utf8');

    const fresh = renderCrdStructureModule();

    expect(committed === fresh, 'out of date: run node --import tsx scripts/generate-crd-validators.ts').toBe(true);
  });

  it.each(KINDS)('judges a $kind exactly as ajv compiling its schema at runtime does', ({ kind, generated, base }) => {
    const runtime = createCrdValidator(istioCrds[kind], { apiVersion: 'networking.istio.io/v1', kind });
    const paths = schemaPaths(istioCrds[kind] as Record<string, unknown>);
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: -(2 ** 32), max: 2 ** 32 }), fc.constantFrom('', 'unix:///a', 'HTTP', 'x'.repeat(70), '2024-01-01T00:00:00Z'));
    let refused = 0;

    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...paths), value), { minLength: 1, maxLength: 4 }), (changes) => {
        const obj = withValues(base, changes);
        const verdict = problems(generated(obj));
        if (verdict.length > 0) refused++;
        expect(verdict).toEqual(problems(runtime(obj)));
      }),
      { numRuns: 400 },
    );

    // Both accepting everything would prove nothing: most random changes must be refused.
    expect(refused).toBeGreaterThan(100);
    expect(problems(generated(base))).toEqual([]);
  });
});

describe('the generated module outside a bundler', () => {
  it('runs under Node\'s own ESM loader (npm run local, bench, scripts), where a CommonJS default import is module.exports', async () => {
    const { execFileSync } = await import('node:child_process');
    // A string over maxLength exercises ajv's ucs2length runtime helper, the one CommonJS default.
    const script = `const m = await import(${JSON.stringify(GENERATED_FILE)}); const ok = m.WorkloadEntry({ spec: { address: 'x'.repeat(300) } }); console.log(JSON.stringify({ ok, keyword: m.WorkloadEntry.errors?.[0]?.keyword }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ ok: false, keyword: 'maxLength' });
  });
});
