/**
 * `policy apply`: creates or replaces each document, guarded so a concurrent change is never
 * overwritten: the revision read is sent back as If-Match, and a policy not found is created
 * with If-None-Match: * (so a racing create fails instead of being replaced).
 *
 * `policy apply --dry-run` and `policy diff` write nothing: each document is validated by the
 * API's own rules (shared/core/policy-validation.ts) and compared with the stored one as the API
 * compares them (deep equality, so key order does not count), and the difference is printed.
 */
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { validatePolicyDocument } from '../../../shared/core/policy-validation.js';
import { namespaceName, objectName } from '../../../shared/core/schemas.js';
import type { ApiClient, Precondition } from '../api-client.js';
import { readDocuments, type SourceDocument } from '../documents.js';
import { ApiError, describeFailure, EXIT_CODES, isTransportError } from '../errors.js';
import { unifiedDiff } from '../line-diff.js';
import type { Change, PolicyItem } from '../schemas.js';
import type { CommandContext, CommandResult } from './context.js';

const VERB: Record<Change, string> = { created: 'created', updated: 'configured', unchanged: 'unchanged' };

/** `apply` writes; `dry-run` prints what apply would say; `diff` prints the differences. */
export type ApplyMode = 'apply' | 'dry-run' | 'diff';

/** Applies (or, dry, compares) the documents of `files` one by one; exit 1 if any failed, and for a diff 3 if any would change. */
export async function applyPolicies(files: readonly string[], ctx: CommandContext, mode: ApplyMode = 'apply'): CommandResult {
  const documents = await readDocuments(files, ctx.cwd, ctx.stdin);
  let failed = false;
  let changes = false;
  for (const document of documents) {
    const ref = policyRefOf(document);
    if (typeof ref === 'string') {
      ctx.stderr(`error: ${document.file}: document ${document.index}: ${ref}\n`);
      failed = true;
      continue;
    }
    const subject = `onboardingpolicy ${ref.namespace}/${ref.name}`;
    try {
      if (mode === 'apply') {
        const answer = await ctx.client.putPolicy(ref.namespace, ref.name, document.value, await preconditionFor(ctx.client, ref.namespace, ref.name));
        ctx.stdout(`${subject} ${VERB[answer.change]} (revision ${answer.revision})\n`);
        continue;
      }
      const plan = await planFor(ctx.client, ref, document);
      if (plan.problems) {
        ctx.stderr([`error: ${subject}: ${document.file}: document ${document.index} is invalid; nothing would be stored`, ...plan.problems.map((p) => `  ${p.pointer || '/'}: ${p.message}`)].map((l) => `${l}\n`).join(''));
        failed = true;
        continue;
      }
      changes ||= plan.change !== 'unchanged';
      if (mode === 'dry-run') ctx.stdout(`${subject} ${VERB[plan.change]} (dry run${plan.stored ? `; stored revision ${plan.stored.revision}` : ''})\n`);
      else ctx.stdout(diffText(subject, document, plan));
    } catch (error) {
      const lines = conflictLines(error, subject) ?? describeFailure(error, subject);
      if (!lines) throw error;
      ctx.stderr(lines.map((l) => `${l}\n`).join(''));
      failed = true;
      // Without a network or credentials every further document would fail the same way.
      if (isTransportError(error)) break;
    }
  }
  if (failed) return EXIT_CODES.FAILED;
  return mode === 'diff' && changes ? EXIT_CODES.CHANGES : EXIT_CODES.OK;
}

interface Plan {
  change: Change;
  stored?: PolicyItem;
  /** The document as it would be stored. */
  given?: unknown;
  problems?: { pointer: string; message: string }[];
}

async function planFor(client: ApiClient, ref: { namespace: string; name: string }, document: SourceDocument): Promise<Plan> {
  const stored = (await storedPolicy(client, ref.namespace, ref.name))?.item;
  const validation = validatePolicyDocument(document.value, ref);
  if (!validation.ok) return { change: 'unchanged', problems: validation.problems };
  if (!stored) return { change: 'created', given: validation.policy };
  return { change: isDeepStrictEqual(stored.policy, validation.policy) ? 'unchanged' : 'updated', stored, given: validation.policy };
}

/** `--- stored` / `+++ given` and the hunks between them, keys sorted so only real changes show. */
function diffText(subject: string, document: SourceDocument, plan: Plan): string {
  if (plan.change === 'unchanged') return '';
  const lines = (value: unknown) => (value === undefined ? [] : stringify(value, { sortMapEntries: true, lineWidth: 0 }).trimEnd().split('\n'));
  const header = [`diff ${subject}`, `--- ${subject} ${plan.stored ? `(stored, revision ${plan.stored.revision})` : '(not stored)'}`, `+++ ${subject} (${document.file}, document ${document.index})`];
  return [...header, ...unifiedDiff(lines(plan.stored?.policy), lines(plan.given))].map((l) => `${l}\n`).join('');
}

async function storedPolicy(client: ApiClient, namespace: string, name: string): Promise<{ item: PolicyItem; etag: string } | undefined> {
  try {
    return await client.getPolicy(namespace, name);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.reason === 'POLICY_NOT_FOUND') return undefined;
    throw error;
  }
}

async function preconditionFor(client: ApiClient, namespace: string, name: string): Promise<Precondition> {
  const stored = await storedPolicy(client, namespace, name);
  return stored ? { ifMatch: stored.etag } : { ifNoneMatch: '*' };
}

function conflictLines(error: unknown, subject: string): string[] | undefined {
  if (!(error instanceof ApiError) || error.status !== 412) return undefined;
  const now = error.currentRevision === undefined ? '' : ` (now revision ${error.currentRevision})`;
  return [`error: ${subject}: conflict: changed by someone else since it was read${now}; re-run apply`];
}

/** The document's namespace and name, or why it is not an OnboardingPolicy this command can send. */
function policyRefOf(document: SourceDocument): { namespace: string; name: string } | string {
  const value = document.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const { kind, metadata } = value as { kind?: unknown; metadata?: unknown };
  if (kind !== 'OnboardingPolicy') return `kind must be OnboardingPolicy, not ${JSON.stringify(kind) ?? 'missing'}`;
  const { namespace, name } = (typeof metadata === 'object' && metadata !== null ? metadata : {}) as { namespace?: unknown; name?: unknown };
  if (typeof namespace !== 'string' || namespace === '') return 'metadata.namespace is required';
  if (typeof name !== 'string' || name === '') return 'metadata.name is required';
  // Both go into the URL path: refuse what would change its shape (`..`, `/`) rather than encode it.
  const badNamespace = namespaceName.safeParse(namespace);
  if (!badNamespace.success) return `metadata.namespace "${namespace}": ${badNamespace.error.issues[0]?.message ?? 'invalid'}`;
  const badName = objectName.safeParse(name);
  if (!badName.success) return `metadata.name "${name}": ${badName.error.issues[0]?.message ?? 'invalid'}`;
  return { namespace, name };
}
