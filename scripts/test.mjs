// `npm test`: every vitest project (unit and integration against moto, then the IAM check on the
// calls the integration tests recorded), then the unit tests once more on Node 22, the Lambda
// runtime's major (node@<config.node22> from the npm registry, through npx). It ends with the
// plain line `N passed, N failed` over both runs, so a run that tested nothing is visible in CI.
//
// `npm run test:node22` runs this same script on Node 22; it then has nothing left to repeat.
// Arguments (e.g. a file filter or `--project unit`) go to vitest, and skip the Node 22 repeat.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureVenv } from './ensure-venv.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const args = process.argv.slice(2);
const node22 = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).config.node22;
ensureVenv();

/** Runs vitest with `command` (a node binary and its leading args); returns its counts. */
function runVitest(label, command, vitestArgs) {
  const report = join(root, `.vitest-report${label ? `-${label}` : ''}.json`);
  rmSync(report, { force: true });
  const [bin, ...pre] = command;
  const run = spawnSync(bin, [...pre, vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs], { cwd: root, stdio: 'inherit' });
  if (!existsSync(report)) return { ok: false, passed: 0, failed: 1, skipped: 0 };
  const json = JSON.parse(readFileSync(report, 'utf8'));
  // A file that fails to load has no failed test: count it once so the line never hides it.
  const failed = (json.numFailedTests ?? 0) || (json.numFailedTestSuites ?? 0);
  return { ok: run.status === 0, passed: json.numPassedTests ?? 0, failed, skipped: (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0), failures: failuresIn(json) };
}

/** Each failed test (or file that failed to load) with the first lines of its reason. */
function failuresIn(json) {
  const out = [];
  for (const file of json.testResults ?? []) {
    const where = file.name.startsWith(root) ? file.name.slice(root.length + 1) : file.name;
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    if (!failedTests.length && file.status === 'failed') out.push(`${where}: ${firstLines(file.message)}`);
    for (const t of failedTests) out.push(`${where} > ${t.fullName}: ${firstLines((t.failureMessages ?? []).join('\n'))}`);
  }
  return out;
}

const firstLines = (text = '') => text.split('\n').slice(0, 3).join(' | ');

const runs = [runVitest('', [process.execPath], args)];
const onNode22 = Number(process.versions.node.split('.')[0]) === 22;
if (!onNode22 && args.length === 0 && process.env.ECS_MESH_SKIP_NODE22 !== '1') {
  console.log(`\n[test] the unit tests again on Node ${node22} (the Lambda runtime's major; ECS_MESH_SKIP_NODE22=1 skips this)`);
  runs.push(runVitest('node22', ['npx', '--yes', '-p', `node@${node22}`, '--', 'node'], ['--project', 'unit']));
}

const sum = (key) => runs.reduce((n, r) => n + r[key], 0);
const [passed, failed, skipped] = [sum('passed'), sum('failed'), sum('skipped')];
// CI shows the end of the output: name what failed there, above the counts.
const failures = runs.flatMap((r) => r.failures ?? []);
if (failures.length) console.log(`\n[test] failed:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(runs.every((r) => r.ok) && failed === 0 && passed > 0 ? 0 : 1);
