/** `policy delete`: removes a policy, optionally only if it is still at the revision given. */
import type { PolicyRef } from '../args.js';
import { EXIT_CODES } from '../errors.js';
import { renderValue } from '../output.js';
import type { CommandContext, CommandResult } from './context.js';

/** Deletes `ref` (with If-Match when `ifMatch` is given) and prints what was deleted. */
export async function deletePolicy(ref: PolicyRef, ifMatch: number | undefined, ctx: CommandContext): CommandResult {
  const answer = await ctx.client.deletePolicy(ref.namespace, ref.name, ifMatch);
  if (ctx.output !== 'table') ctx.stdout(renderValue(answer, ctx.output));
  else ctx.stdout(`onboardingpolicy ${answer.namespace}/${answer.name} deleted (revision ${answer.revision})\n`);
  return EXIT_CODES.OK;
}
