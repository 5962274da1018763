/** `enrollments list` and `enrollments get`: why a task is (or is not) in the mesh. */
import type { EnrollmentQuery } from '../api-client.js';
import { EXIT_CODES } from '../errors.js';
import { droppedLabelLines, renderTable, renderValue } from '../output.js';
import type { EnrollmentRecord } from '../schemas.js';
import type { CommandContext, CommandResult } from './context.js';

const COLUMNS = ['task', 'cluster', 'phase', 'reason', 'group', 'address', 'updated'];

/**
 * Prints one page of the matching records (`--all`: every page, following nextToken). `-o
 * json|yaml` prints `{ items, nextToken }` as the API answers; the table names the next page's
 * token on stderr, so stdout stays the table.
 */
export async function listEnrollments(query: EnrollmentQuery, all: boolean, ctx: CommandContext): CommandResult {
  let page = await ctx.client.listEnrollments(query);
  const items = [...page.items];
  while (all && page.nextToken !== undefined) {
    page = await ctx.client.listEnrollments({ ...query, nextToken: page.nextToken });
    items.push(...page.items);
  }
  const { nextToken } = page;
  if (ctx.output !== 'table') ctx.stdout(renderValue({ items, ...(nextToken !== undefined ? { nextToken } : {}) }, ctx.output));
  else {
    ctx.stdout(renderTable(COLUMNS, items.map(row)));
    if (nextToken !== undefined) ctx.stderr(`more records: add --next-token ${nextToken} (or --all)\n`);
  }
  return EXIT_CODES.OK;
}

/** Prints one task's record, with its detail under the table. */
export async function getEnrollment(taskId: string, ctx: CommandContext): CommandResult {
  const record = await ctx.client.getEnrollment(taskId);
  if (ctx.output !== 'table') {
    ctx.stdout(renderValue(record, ctx.output));
    return EXIT_CODES.OK;
  }
  const rule = record.policy === undefined ? [] : [`policy: ${record.policy}${record.rule === undefined ? '' : ` rule ${record.rule}`}`];
  const token = record.onboardingToken ? [`token: ${record.onboardingToken.jti} issued ${record.onboardingToken.issuedAt}, expires ${record.onboardingToken.expiresAt}`] : [];
  ctx.stdout(renderTable(COLUMNS, [row(record)]) + [`detail: ${record.detail}`, ...rule, ...token, ...droppedLabelLines(record.droppedLabels)].map((l) => `${l}\n`).join(''));
  return EXIT_CODES.OK;
}

function row(r: EnrollmentRecord): (string | undefined)[] {
  const group = r.namespace !== undefined && r.workloadGroup !== undefined ? `${r.namespace}/${r.workloadGroup}` : undefined;
  return [r.taskId, r.clusterName, r.phase, r.reason, group, r.address, r.updatedAt];
}
