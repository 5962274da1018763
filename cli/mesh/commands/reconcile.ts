/** `reconcile`: runs a pass on demand and prints what was (or, dry, would be) repaired, by kind, task by task. */
import type { ReconcileRequest } from '../api-client.js';
import { EXIT_CODES } from '../errors.js';
import { NONE, renderTable, renderValue } from '../output.js';
import type { ReconcileReport } from '../schemas.js';
import type { CommandContext, CommandResult } from './context.js';

/** Exit 1 when a repair failed, so a script notices; 0 otherwise, repairs or not. */
export async function reconcile(request: ReconcileRequest, ctx: CommandContext): CommandResult {
  const report = await ctx.client.reconcile(request);
  ctx.stdout(ctx.output === 'table' ? renderReport(report) : renderValue(report, ctx.output));
  const failed = report.unjudged.length > 0 || report.repairs.some((r) => r.error !== undefined && r.applied === false && !report.dryRun && !/newer event/.test(r.error));
  return failed ? EXIT_CODES.FAILED : EXIT_CODES.OK;
}

function renderReport(report: ReconcileReport): string {
  const counts = Object.entries(report.counts).map(([kind, n]) => `${kind} ${n}`).join(', ');
  const unjudged = report.unjudged.length ? `; ${report.unjudged.length} could not be judged (${report.unjudged.map((u) => `${u.taskId}: ${u.error}`).join('; ')})` : '';
  const head = `${report.dryRun ? 'DRY RUN: would repair' : 'repaired'} ${report.repairs.length} of ${report.tasksJudged} task(s) judged (${report.tasksSeen} seen, ${report.clusters.length} cluster(s)${report.complete ? '' : '; more in the next pass'}): ${counts}${unjudged}\n`;
  if (report.repairs.length === 0) return head;
  const rows = report.repairs.map((r) => [r.taskId, r.kind, r.applied ? 'yes' : 'no', r.error ?? (r.why || NONE)]);
  return head + renderTable(['task', 'kind', 'applied', 'why'], rows);
}
