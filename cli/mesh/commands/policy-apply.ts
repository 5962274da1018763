/**
 * `policy apply`: creates or replaces each document, guarded so a concurrent change is never
 * overwritten: the revision read is sent back as If-Match, and a policy not found is created
 * with If-None-Match: * (so a racing create fails instead of being replaced).
 */
import { namespaceName, objectName } from '../../../shared/core/schemas.js';
import type { ApiClient, Precondition } from '../api-client.js';
import { readDocuments, type SourceDocument } from '../documents.js';
import { ApiError, describeFailure, EXIT_CODES, isTransportError } from '../errors.js';
import type { Change } from '../schemas.js';
import type { CommandContext, CommandResult } from './context.js';

const VERB: Record<Change, string> = { created: 'created', updated: 'configured', unchanged: 'unchanged' };

/** Applies the documents of `files` one by one; exit 1 if any failed. */
export async function applyPolicies(files: readonly string[], ctx: CommandContext): CommandResult {
  const documents = await readDocuments(files, ctx.cwd);
  let failed = false;
  for (const document of documents) {
    const ref = policyRefOf(document);
    if (typeof ref === 'string') {
      ctx.stderr(`error: ${document.file}: document ${document.index}: ${ref}\n`);
      failed = true;
      continue;
    }
    const subject = `onboardingpolicy ${ref.namespace}/${ref.name}`;
    try {
      const answer = await ctx.client.putPolicy(ref.namespace, ref.name, document.value, await preconditionFor(ctx.client, ref.namespace, ref.name));
      ctx.stdout(`${subject} ${VERB[answer.change]} (revision ${answer.revision})\n`);
    } catch (error) {
      const lines = conflictLines(error, subject) ?? describeFailure(error, subject);
      if (!lines) throw error;
      ctx.stderr(lines.map((l) => `${l}\n`).join(''));
      failed = true;
      // Without a network or credentials every further document would fail the same way.
      if (isTransportError(error)) break;
    }
  }
  return failed ? EXIT_CODES.FAILED : EXIT_CODES.OK;
}

async function preconditionFor(client: ApiClient, namespace: string, name: string): Promise<Precondition> {
  try {
    return { ifMatch: (await client.getPolicy(namespace, name)).etag };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.reason === 'POLICY_NOT_FOUND') return { ifNoneMatch: '*' };
    throw error;
  }
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
