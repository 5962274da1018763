/** `policy get`, `policy list` and `policy history`: read-only views of the policy store. */
import type { PolicyRef } from '../args.js';
import { EXIT_CODES } from '../errors.js';
import { renderTable, renderValue } from '../output.js';
import type { PolicyItem } from '../schemas.js';
import type { CommandContext, CommandResult } from './context.js';

/** Prints one policy; `-o json|yaml` prints only its document, ready to edit and re-apply. */
export async function getPolicy(ref: PolicyRef, ctx: CommandContext): CommandResult {
  const { item } = await ctx.client.getPolicy(ref.namespace, ref.name);
  if (ctx.output !== 'table') {
    ctx.stdout(renderValue(item.policy, ctx.output));
    return EXIT_CODES.OK;
  }
  ctx.stdout(renderTable(POLICY_COLUMNS, [policyRow(item)]));
  if (!item.valid) ctx.stdout(`invalid: ${item.problem ?? 'the stored document fails validation'} (the policy is ignored until fixed)\n`);
  return EXIT_CODES.OK;
}

/**
 * Prints a namespace's policies; `-o json|yaml` the API's items (revision, validity and the
 * document of each), so a script can pass the revision to `--if-match`.
 */
export async function listPolicies(namespace: string, ctx: CommandContext): CommandResult {
  const items = await ctx.client.listPolicies(namespace);
  ctx.stdout(ctx.output === 'table' ? renderTable(POLICY_COLUMNS, items.map(policyRow)) : renderValue(items, ctx.output));
  return EXIT_CODES.OK;
}

const POLICY_COLUMNS = ['namespace', 'name', 'revision', 'rules', 'valid', 'updated', 'by'];

function policyRow(i: PolicyItem): (string | number | undefined)[] {
  return [i.namespace, i.name, i.revision, ruleCount(i), i.valid ? 'yes' : 'no', i.updatedAt, i.updatedBy];
}

/** Prints a policy's revisions, newest first; `-o json|yaml` prints the API's items. */
export async function policyHistory(ref: PolicyRef, limit: number | undefined, ctx: CommandContext): CommandResult {
  const items = await ctx.client.policyHistory(ref.namespace, ref.name, limit);
  if (ctx.output !== 'table') ctx.stdout(renderValue(items, ctx.output));
  else ctx.stdout(renderTable(['revision', 'action', 'at', 'actor'], items.map((i) => [i.revision, i.action, i.at, i.actor])));
  return EXIT_CODES.OK;
}

/** The number of allow rules, if the stored document has the expected shape (an invalid one may not). */
function ruleCount(item: PolicyItem): number | undefined {
  const spec = item.policy.spec as { allow?: unknown } | undefined;
  return Array.isArray(spec?.allow) ? spec.allow.length : undefined;
}
