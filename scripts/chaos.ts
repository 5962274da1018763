/**
 * `npm run chaos [-- --tasks N --seed S --fault-rate R --concurrency C]`: the convergence proof of
 * issue 12 against a fresh moto and the Kubernetes API double. Prints the figures; exits 1 when
 * any must-be-0 figure is not 0. CHAOS_TASKS sizes the run too.
 */
import { parseArgs } from 'node:util';
import { LOCAL_AWS_ENV, startMoto } from '../local/moto.js';
import { DEFAULT_CHAOS_OPTIONS, runChaos, type ChaosOptions } from '../test/support/chaos/run-chaos.js';
import { formatChaosTable } from '../test/support/chaos/report-table.js';

const { values } = parseArgs({
  options: { tasks: { type: 'string' }, services: { type: 'string' }, seed: { type: 'string' }, 'fault-rate': { type: 'string' }, concurrency: { type: 'string' } },
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
};

// The SDK's default credential chain finds moto's dummy keys; never real ones.
Object.assign(process.env, LOCAL_AWS_ENV);
const moto = await startMoto();
try {
  const report = await runChaos(options, moto.endpoint, (line) => console.error(`[chaos] ${line}`));
  console.log(formatChaosTable(report));
  const failing = Object.entries(report.mustBeZero).filter(([, n]) => n !== 0);
  if (failing.length) {
    console.log(`\nNOT CONVERGED: ${failing.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const line of report.examples) console.log(`  ${line}`);
    process.exitCode = 1;
  }
} finally {
  await moto.stop();
}
