// docs/reference.md's tables against the code, both ways (issue 21: they had drifted): every
// setting a function reads, every reason code, every metric a function emits and every HTTP route
// is listed, and every one listed is in the code. A row added for something the code lacks fails,
// and so does a code change the table does not follow.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FUNCTION_SETTINGS } from '../../shared/config.js';
import * as reasonCatalogues from '../../shared/core/reasons.js';
import { EXCHANGE_REASONS, NAME_REASONS, REASONS, TASK_LABEL_REASONS } from '../../shared/core/reasons.js';
import { PEER_JWKS_REFUSALS } from '../../shared/core/peer-jwks.js';
import { EXCHANGE_STATUS } from '../../functions/auth/status.js';
import { readServerlessConfig } from '../support/serverless-config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const reference = readFileSync(join(root, 'docs/reference.md'), 'utf8');

/** The rows (cells, trimmed) of the first table under `heading`, before the next heading. */
function tableUnder(heading: string): string[][] {
  const start = reference.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/reference.md has no "${heading}"`);
  const body = reference.slice(start + heading.length + 2);
  const section = body.slice(0, body.search(/^#{1,6} /m) < 0 ? undefined : body.search(/^#{1,6} /m));
  const rows = section.split('\n').filter((line) => line.startsWith('|')).map((line) => line.slice(1, line.lastIndexOf('|')).split('|').map((cell) => cell.trim()));
  return rows.slice(2); // the header and its --- row
}

/** The `CODE`s in backticks of a table's first column. */
const codesIn = (rows: string[][]) => rows.flatMap((cells) => [...(cells[0] ?? '').matchAll(/`([A-Za-z][A-Za-z0-9_<>-]*)`/g)].map((m) => m[1]!));
const sorted = (values: Iterable<string>) => [...new Set(values)].sort();
/** Listed but not in the code, and in the code but not listed: both empty when they agree. */
const disagreement = (listed: Iterable<string>, inCode: Iterable<string>) => {
  const [l, c] = [new Set(listed), new Set(inCode)];
  return { listedButNotInCode: sorted([...l].filter((x) => !c.has(x))), inCodeButNotListed: sorted([...c].filter((x) => !l.has(x))) };
};
const agreed = { listedButNotInCode: [], inCodeButNotListed: [] };

describe('docs/reference.md: configuration (environment of the Lambdas)', () => {
  it('lists every variable a function reads (FUNCTION_SETTINGS), and no other', () => {
    const read = Object.values(FUNCTION_SETTINGS).flatMap((shape) => Object.keys(shape));
    const listed = tableUnder('## Configuration (environment of the Lambdas)').flatMap((cells) => [...(cells[0] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));

    expect(disagreement(listed, read)).toEqual(agreed);
  });
});

/** Each catalogue of reason codes in shared/core/reasons.ts (and the peer JWKS refusals), by the heading of its table. */
const REASON_TABLES: Record<string, Record<string, string>> = {
  '### Enrollment reasons': REASONS,
  '### Dropped-label reasons': TASK_LABEL_REASONS,
  '### Exchange refusals': EXCHANGE_REASONS,
  '### Peer JWKS refusals': PEER_JWKS_REFUSALS,
  '### Name reasons': NAME_REASONS,
};

describe('docs/reference.md: reason codes', () => {
  it('has a table for every catalogue of codes shared/core/reasons.ts exports', () => {
    const catalogues = Object.entries(reasonCatalogues).filter(([, value]) => typeof value === 'object' && value !== null && Object.entries(value).every(([k, v]) => k === v));
    const tabled = new Set(Object.values(REASON_TABLES));

    // A new catalogue needs its table in docs/reference.md, and its heading in REASON_TABLES here.
    expect(catalogues.filter(([, codes]) => !tabled.has(codes)).map(([name]) => name)).toEqual([]);
    expect(catalogues.length).toBeGreaterThanOrEqual(3);
  });

  it.each(Object.entries(REASON_TABLES).map(([heading, codes]) => ({ heading, codes })))('$heading: every code of the code, and no other', ({ heading, codes }) => {
    expect(disagreement(codesIn(tableUnder(heading)), Object.values(codes))).toEqual(agreed);
  });

  it('gives each exchange refusal the status the auth function answers', () => {
    const listed = Object.fromEntries(tableUnder('### Exchange refusals').map((cells) => [cells[0]!.replace(/`/g, ''), Number(cells[1])]));

    expect(listed).toEqual(EXCHANGE_STATUS);
  });
});

/** Every .ts file under `dir`, tests aside (there are none under functions/ and shared/). */
const sources = (dir: string): string[] =>
  readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));

/**
 * The metric names the functions emit, read from their source: `addMetric('name', …)` (a template
 * literal's `${…}` part becomes `<…>`), a MetricPoint's `name: '…'` (shared/core/batch-metrics.ts),
 * and Powertools' `ColdStart` wherever `captureColdStartMetric` is called.
 */
function emittedMetrics(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of [...sources('functions'), ...sources('shared')]) {
    const text = readFileSync(file, 'utf8');
    const at = relative(root, file);
    for (const m of text.matchAll(/addMetric\(\s*(['"`])(.+?)\1/g)) found.set(m[2]!.replace(/\$\{[^}]*\}/g, '<…>'), at);
    for (const m of text.matchAll(/\bname: '([A-Za-z_]+)', unit: '/g)) found.set(m[1]!, at);
    if (/\.captureColdStartMetric\(/.test(text)) found.set('ColdStart', at);
  }
  return found;
}

describe('docs/reference.md: metrics', () => {
  it('lists every metric a function emits, and no other', () => {
    const emitted = emittedMetrics();
    const listed = codesIn(tableUnder('## Metrics')).map((name) => name.replace(/<[^>]*>/g, '<…>'));

    // The reading of the source is itself checked: it finds the metrics it is known to.
    expect([...emitted.keys()]).toEqual(expect.arrayContaining(['enrollments', 'exchange_<…>', 'repair_<…>', 'ColdStart']));
    expect(disagreement(listed, emitted.keys())).toEqual(agreed);
  });
});

interface HttpApiEvent {
  httpApi?: { method: string; path: string; authorizer?: { type?: string } };
}

describe('docs/reference.md: routes', () => {
  it("lists every httpApi event of serverless.yml's functions, with its function and authorization, and no other", () => {
    const declared = Object.entries(readServerlessConfig().functions).flatMap(([name, fn]) =>
      ((fn.events ?? []) as HttpApiEvent[]).flatMap(({ httpApi }) => (httpApi ? [`${httpApi.method} ${httpApi.path} ${name} ${httpApi.authorizer?.type === 'aws_iam' ? 'AWS_IAM' : 'none'}`] : [])),
    );
    // Function names as serverless.yml spells them (taskEvents); the table says the function as its folder does (task-events).
    const asDeclared = (fn: string) => fn.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const listed = tableUnder('## Routes').map(([route = '', fn = '', auth = '']) => `${route.replace(/`/g, '')} ${asDeclared(fn)} ${auth.startsWith('`AWS_IAM`') ? 'AWS_IAM' : auth.split(':')[0]}`);

    expect(declared.length).toBeGreaterThan(10);
    expect(disagreement(listed, declared)).toEqual(agreed);
  });
});
