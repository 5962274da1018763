/**
 * `npm run bench [section...]`: issue 13's cost and latency measures, side by side in one run.
 * Each section (scripts/bench/*.ts) measures its rows against moto with the project's own modules;
 * moto's latency is not AWS's, so read call counts as the cost model and times only as ratios
 * taken in the same run. Prints the table (with the goal column) and then the same rows as JSON;
 * `--json FILE` also writes the JSON there. Exits 1 when a row misses its goal without a reason.
 */
import { writeFileSync } from 'node:fs';
import type { BenchRow, BenchSection } from './bench/row.js';

const SECTIONS: Record<string, () => Promise<BenchSection>> = {
  enrollment: async () => (await import('./bench/enrollment.js')).enrollmentSection,
  queries: async () => (await import('./bench/queries.js')).queriesSection,
  bundles: async () => (await import('./bench/bundles.js')).bundlesSection,
  exchange: async () => (await import('./bench/exchange.js')).exchangeSection,
  mesh: async () => (await import('./bench/mesh.js')).meshSection,
  names: async () => (await import('./bench/names.js')).namesSection,
};

const argv = process.argv.slice(2);
const jsonAt = argv.indexOf('--json');
const jsonFile = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
const names = argv.filter((_, i) => jsonAt < 0 || (i !== jsonAt && i !== jsonAt + 1));
const unknown = names.filter((n) => !(n in SECTIONS));
if (unknown.length > 0) {
  console.error(`unknown bench section(s): ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}

const rows: Array<BenchRow & { section: string }> = [];
for (const name of names.length > 0 ? names : Object.keys(SECTIONS)) {
  console.error(`[bench] ${name}...`);
  const section = await SECTIONS[name]!();
  for (const row of await section.run()) rows.push({ section: name, ...row });
}

const cells = rows.map((r) => [r.measure, r.now, r.goal, r.meets ? 'yes' : `no: ${r.reason ?? 'NO REASON GIVEN'}`]);
const header = ['measure', 'now', 'floor / goal', 'meets'];
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
console.log([line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n'));
const json = JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2);
console.log(json);
if (jsonFile) writeFileSync(jsonFile, `${json}\n`);
if (rows.some((r) => !r.meets && !r.reason)) process.exitCode = 1;
