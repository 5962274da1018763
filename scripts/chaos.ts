/**
 * `npm run chaos [-- --tasks N --services S --seed S --fault-rate R --concurrency C --hand-deletes H --accounts A]`: the
 * convergence proof of issue 12 against a fresh moto and the Kubernetes API double. Prints the
 * figures; exits 1 when any must-be-0 figure is not 0. CHAOS_TASKS sizes the run too. With more
 * than one account (`--accounts 3` or CHAOS_ACCOUNTS, issue 20) it runs both topologies of
 * docs/multi-account.md, hub and spoke then a control plane per account, each on a fresh moto, and
 * prints a table for each.
 */
import { parseArgs } from 'node:util';
import { LOCAL_AWS_ENV, startMoto } from '../local/moto.js';
import { DEFAULT_CHAOS_OPTIONS, MULTI_ACCOUNT_TOPOLOGIES, runChaos, type ChaosOptions, type ChaosTopology } from '../test/support/chaos/run-chaos.js';
import { formatChaosTable } from '../test/support/chaos/report-table.js';

const { values } = parseArgs({
  options: { tasks: { type: 'string' }, services: { type: 'string' }, seed: { type: 'string' }, 'fault-rate': { type: 'string' }, concurrency: { type: 'string' }, accounts: { type: 'string' }, 'hand-deletes': { type: 'string' } },
});
const number = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, not ${value}`);
  return n;
};
const options: ChaosOptions = {
  ...DEFAULT_CHAOS_OPTIONS,
  tasks: number(values.tasks ?? process.env.CHAOS_TASKS, DEFAULT_CHAOS_OPTIONS.tasks, 'tasks'),
  services: number(values.services, DEFAULT_CHAOS_OPTIONS.services, 'services'),
  seed: number(values.seed, DEFAULT_CHAOS_OPTIONS.seed, 'seed'),
  faultRate: number(values['fault-rate'], DEFAULT_CHAOS_OPTIONS.faultRate, 'fault-rate'),
  concurrency: number(values.concurrency, DEFAULT_CHAOS_OPTIONS.concurrency, 'concurrency'),
  handDeletes: number(values['hand-deletes'], DEFAULT_CHAOS_OPTIONS.handDeletes, 'hand-deletes'),
  accounts: number(values.accounts ?? process.env.CHAOS_ACCOUNTS, DEFAULT_CHAOS_OPTIONS.accounts, 'accounts'),
};
// Account ids are 111111111111 up to 999999999999 besides moto's default one.
if (!Number.isInteger(options.accounts) || options.accounts < 1 || options.accounts > 10) throw new Error(`--accounts must be a whole number from 1 to 10, not ${options.accounts}`);
const topologies: readonly ChaosTopology[] = options.accounts > 1 ? MULTI_ACCOUNT_TOPOLOGIES : ['one-account'];

// The SDK's default credential chain finds moto's dummy keys; never real ones.
Object.assign(process.env, LOCAL_AWS_ENV);
for (const topology of topologies) {
  if (topologies.length > 1) console.log(`\n=== ${topology}, ${options.accounts} accounts ===`);
  const moto = await startMoto();
  try {
    const report = await runChaos({ ...options, topology }, moto.endpoint, (line) => console.error(`[chaos ${topology}] ${line}`));
    console.log(formatChaosTable(report));
    const failing = Object.entries(report.mustBeZero).filter(([, n]) => n !== 0);
    if (failing.length) {
      console.log(`\nNOT CONVERGED (${topology}): ${failing.map(([k, n]) => `${k} ${n}`).join(', ')}`);
      for (const line of report.examples) console.log(`  ${line}`);
      process.exitCode = 1;
    }
  } finally {
    await moto.stop();
  }
}
