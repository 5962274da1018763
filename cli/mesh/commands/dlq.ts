/**
 * `dlq list` and `dlq replay`: the task-events records set aside on its dead-letter queue (a
 * malformed record at once, any other after 5 failed receives), and sending them back through
 * task-events. A replayed record meets the same version checks as a new event, so replaying one
 * that is older than what is recorded changes nothing.
 */
import { EXIT_CODES } from '../errors.js';
import { NONE, renderTable, renderValue } from '../output.js';
import type { DeadLetter } from '../schemas.js';
import type { CommandContext, CommandResult } from './context.js';

const BODY_PREVIEW = 60;

/** Prints the records on the DLQ; they stay there. */
export async function listDeadLetters(limit: number | undefined, ctx: CommandContext): CommandResult {
  const records = await ctx.client.listDeadLetters(limit);
  if (ctx.output !== 'table') ctx.stdout(renderValue(records, ctx.output));
  else ctx.stdout(records.length === 0 ? 'the dead-letter queue is empty\n' : renderTable(['message', 'reason', 'first sent', 'receives', 'body'], records.map(row)));
  return EXIT_CODES.OK;
}

/** Replays the records and prints which ones went back to task-events. */
export async function replayDeadLetters(limit: number | undefined, ctx: CommandContext): CommandResult {
  const records = await ctx.client.replayDeadLetters(limit);
  if (ctx.output !== 'table') ctx.stdout(renderValue(records, ctx.output));
  else ctx.stdout(`replayed ${records.length} record(s) through task-events\n${records.length === 0 ? '' : renderTable(['message', 'reason', 'first sent', 'receives', 'body'], records.map(row))}`);
  return EXIT_CODES.OK;
}

function row(r: DeadLetter): string[] {
  const body = r.body.replace(/\s+/g, ' ');
  return [r.messageId, r.reason ?? 'RETRIES_EXHAUSTED', r.sentAt ?? NONE, r.receiveCount === undefined ? NONE : String(r.receiveCount), body.length > BODY_PREVIEW ? `${body.slice(0, BODY_PREVIEW - 1)}…` : body];
}
