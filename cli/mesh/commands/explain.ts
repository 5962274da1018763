/** `explain`: asks the API whether a task (or a described identity) may join a WorkloadGroup, and why. */
import type { ExplainRequest } from '../api-client.js';
import { EXIT_CODES } from '../errors.js';
import { droppedLabelLines, NONE, renderTable, renderValue } from '../output.js';
import type { ExplainAnswer } from '../schemas.js';
import type { CommandContext, CommandResult } from './context.js';

/** Prints the verdict and the per-policy trace; exit 0 whether allowed or refused. */
export async function explain(request: ExplainRequest, ctx: CommandContext): CommandResult {
  const answer = await ctx.client.explain(request);
  ctx.stdout(ctx.output === 'table' ? renderExplanation(answer) : renderValue(answer, ctx.output));
  return EXIT_CODES.OK;
}

function renderExplanation(answer: ExplainAnswer): string {
  const verdict = answer.allowed ? `ALLOWED${answer.policy === undefined ? '' : ` by policy ${answer.policy}`}${answer.rule === undefined ? '' : ` rule ${answer.rule}`}` : `REFUSED: ${answer.reason} — ${answer.detail}`;
  const head = [verdict, ...droppedLabelLines(answer.droppedLabels)].map((l) => `${l}\n`).join('');
  if (answer.trace.length === 0) return head;
  const rows = answer.trace.map((t) => [t.policy, t.revision, t.result, t.reasons.join('; ') || (t.rule === undefined ? NONE : `rule ${t.rule}`)]);
  return `${head}${renderTable(['policy', 'revision', 'result', 'why'], rows)}`;
}
