/** The body of `POST /v1/reconcile`, validated at the edge: which clusters or namespace, and whether to repair. */
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import { ECS_CLUSTER_NAME, namespaceName } from '../../shared/core/schemas.js';
import { problemsOf, type ValidationProblem } from '../../shared/core/validation-problems.js';
import type { ReconcileOptions } from '../../shared/app/reconcile-tasks.js';

const CLUSTER_ARN = /^arn:(aws|aws-cn|aws-us-gov):ecs:[a-z0-9-]{1,32}:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/;

const ReconcileRequest = z.strictObject({
  clusters: z.optional(z.array(z.union([z.string().check(z.regex(ECS_CLUSTER_NAME, 'must be an ECS cluster name')), z.string().check(z.regex(CLUSTER_ARN, 'must be an ECS cluster ARN'))])).check(z.maxLength(100))),
  namespace: z.optional(namespaceName),
  dryRun: z._default(z.boolean(), false),
});

export type ReconcileRequest = z.infer<typeof ReconcileRequest>;

export function parseReconcileRequest(value: unknown): { ok: true; options: ReconcileOptions } | { ok: false; problems: ValidationProblem[] } {
  const parsed = ReconcileRequest.safeParse(value);
  if (!parsed.success) return { ok: false, problems: problemsOf(parsed.error.issues) };
  return { ok: true, options: { ...parsed.data, useCursor: false } };
}
