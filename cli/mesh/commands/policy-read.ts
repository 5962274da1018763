/** `policy get`, `policy list` and `policy history`: read-only views of the policy store. */
import type { PolicyRef } from '../args.js';
import { EXIT_CODES } from '../errors.js';
import { renderList, renderTable, renderValue } from '../output.js';
import type { PolicyItem } from '../schemas.js';
import type { CommandContext, CommandResult } from './context.js';

/** Prints one policy; `-o json|yaml` prints only its document, ready to edit and re-apply. */
export async function getPolicy(ref: PolicyRef, ctx: CommandContext): CommandResult {
  const { item } = await ctx.client.getPolicy(ref.namespace, ref.name);
  if (ctx.output !== 'table') {
    ctx.stdout(renderValue(item.policy, ctx.output));
    return EXIT_CODES.OK;
  }
  ctx.stdout(renderTable(['namespace', 'name', 'revision', 'rules', 'updated', 'by'], [[item.namespace, item.name, item.revision, ruleCount(item), item.updatedAt, item.updatedBy]]));
  if (!item.valid) ctx.stdout(`invalid: ${item.problem ?? 'the stored document fails validation'} (the policy is ignored until fixed)\n`);
  return EXIT_CODES.OK;
}

/** Prints a namespace's policies; `-o json` a JSON array of documents, `-o yaml` a YAML stream. */
export async function listPolicies(namespace: string, ctx: CommandContext): CommandResult {
  const items = await ctx.client.listPolicies(namespace);
  if (ctx.output !== 'table') {
    ctx.stdout(renderList(items.map((i) => i.policy), ctx.output));
    return EXIT_CODES.OK;
  }
  const rows = items.map((i) => [i.namespace, i.name, i.revision, ruleCount(i), i.valid ? 'yes' : 'no', i.updatedAt, i.updatedBy]);
  ctx.stdout(renderTable(['namespace', 'name', 'revision', 'rules', 'valid', 'updated', 'by'], rows));
  return EXIT_CODES.OK;
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
