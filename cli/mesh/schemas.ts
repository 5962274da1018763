/**
 * The API's answers as the contract describes them. Objects are loose: fields this CLI does not
 * know are kept (and printed by `-o json|yaml`) but never required, so a newer server still works
 * while a broken answer fails with the field named instead of a crash further on.
 */
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';

const document = () => z.record(z.string(), z.unknown());

export const PolicyItemSchema = z.looseObject({
  namespace: z.string(),
  name: z.string(),
  revision: z.number(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  valid: z.boolean(),
  problem: z.optional(z.string()),
  policy: document(),
});
export type PolicyItem = z.infer<typeof PolicyItemSchema>;

export const PolicyListSchema = z.looseObject({ items: z.array(PolicyItemSchema), count: z.number() });

export const CHANGES = ['created', 'updated', 'unchanged'] as const;
export type Change = (typeof CHANGES)[number];

export const PutAnswerSchema = z.looseObject({ ...PolicyItemSchema.shape, change: z.enum(CHANGES) });
export type PutAnswer = z.infer<typeof PutAnswerSchema>;

export const DeleteAnswerSchema = z.looseObject({ namespace: z.string(), name: z.string(), revision: z.number(), deleted: z.literal(true) });
export type DeleteAnswer = z.infer<typeof DeleteAnswerSchema>;

export const HistoryItemSchema = z.looseObject({
  revision: z.number(),
  action: z.string(),
  actor: z.string(),
  at: z.string(),
  before: z.nullable(document()),
  after: z.nullable(document()),
});
export type HistoryItem = z.infer<typeof HistoryItemSchema>;
export const HistoryListSchema = z.looseObject({ items: z.array(HistoryItemSchema), count: z.number() });

const TraceEntrySchema = z.looseObject({
  policy: z.string(),
  revision: z.optional(z.number()),
  result: z.string(),
  rule: z.optional(z.number()),
  reasons: z.array(z.string()),
});

/** A task label tag its entry does not carry, and why (`TASK_LABEL_*`). */
const DroppedLabelsSchema = z.optional(z.array(z.looseObject({ key: z.string(), reason: z.string() })));

export const ExplainAnswerSchema = z.looseObject({
  allowed: z.boolean(),
  outcome: z.string(),
  reason: z.string(),
  detail: z.string(),
  policy: z.optional(z.string()),
  rule: z.optional(z.number()),
  group: z.optional(z.looseObject({ namespace: z.string(), name: z.string() })),
  droppedLabels: DroppedLabelsSchema,
  trace: z.array(TraceEntrySchema),
});
export type ExplainAnswer = z.infer<typeof ExplainAnswerSchema>;

export const EnrollmentRecordSchema = z.looseObject({
  taskId: z.string(),
  taskArn: z.string(),
  clusterArn: z.string(),
  clusterName: z.string(),
  version: z.number(),
  phase: z.string(),
  reason: z.string(),
  detail: z.string(),
  lastStatus: z.string(),
  desiredStatus: z.string(),
  namespace: z.optional(z.string()),
  workloadGroup: z.optional(z.string()),
  entryName: z.optional(z.string()),
  address: z.optional(z.string()),
  roleArn: z.optional(z.string()),
  policy: z.optional(z.string()),
  rule: z.optional(z.number()),
  droppedLabels: DroppedLabelsSchema,
  updatedAt: z.string(),
  onboardingToken: z.optional(z.looseObject({ jti: z.string(), issuedAt: z.string(), expiresAt: z.string(), kid: z.string() })),
});
export type EnrollmentRecord = z.infer<typeof EnrollmentRecordSchema>;
export const EnrollmentListSchema = z.looseObject({ items: z.array(EnrollmentRecordSchema), count: z.number(), nextToken: z.optional(z.string()) });

const PublicJwkSchema = z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), n: z.optional(z.string()), e: z.optional(z.string()), crv: z.optional(z.string()), x: z.optional(z.string()), y: z.optional(z.string()) });

/** A published signing key: `pending` (not signing yet), `active` or `retiring`. */
export const KeyItemSchema = z.looseObject({
  profile: z.string(),
  kid: z.string(),
  alg: z.string(),
  state: z.string(),
  activatesAt: z.optional(z.string()),
  retiresAt: z.optional(z.string()),
  jwk: PublicJwkSchema,
});
export type KeyItem = z.infer<typeof KeyItemSchema>;
export const KeyListSchema = z.looseObject({ items: z.array(KeyItemSchema), count: z.number() });

export const KeyChangeSchema = z.looseObject({
  profile: z.string(),
  outcome: z.string(),
  activeKid: z.string(),
  pendingKid: z.optional(z.string()),
  activatesAt: z.optional(z.string()),
  retiredKids: z.array(z.string()),
  prunedKids: z.array(z.string()),
  /** Keys withdrawn before their retirement: tokens signed with them stop verifying. */
  revoked: z.optional(z.array(z.looseObject({ kid: z.string(), signed: z.boolean(), tokensWouldVerifyUntil: z.optional(z.string()) }))),
});
export type KeyChange = z.infer<typeof KeyChangeSchema>;
export const RotateAnswerSchema = z.looseObject({ changes: z.array(KeyChangeSchema) });
export const RevokeAnswerSchema = z.looseObject({ change: KeyChangeSchema, stopsVerifying: z.string() });
export type RevokeAnswer = z.infer<typeof RevokeAnswerSchema>;

/** Every error body: ours carry `reason`; API Gateway's own carry only `message`. */
export const ErrorBodySchema = z.looseObject({
  reason: z.optional(z.string()),
  message: z.optional(z.string()),
  problems: z.optional(z.array(z.looseObject({ pointer: z.string(), message: z.string() }))),
  currentRevision: z.optional(z.number()),
});

interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

/** `path: message` for each issue, joined; the path uses JSON-pointer-like dots (`items.0.revision`). */
export function describeIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${/received undefined$/.test(i.message) ? 'required' : i.message}`).join('; ');
}

export const ReconcileReportSchema = z.looseObject({
  dryRun: z.boolean(),
  clusters: z.array(z.string()),
  tasksSeen: z.number(),
  tasksJudged: z.number(),
  complete: z.boolean(),
  counts: z.record(z.string(), z.number()),
  repairs: z.array(z.looseObject({ taskId: z.string(), taskArn: z.string(), kind: z.string(), why: z.string(), applied: z.boolean(), error: z.optional(z.string()) })),
  unjudged: z._default(z.array(z.looseObject({ taskId: z.string(), error: z.string() })), []),
  durationMs: z.number(),
});
export type ReconcileReport = z.infer<typeof ReconcileReportSchema>;

export const DeadLetterSchema = z.looseObject({
  messageId: z.string(),
  reason: z.optional(z.string()),
  detail: z.optional(z.string()),
  sentAt: z.optional(z.string()),
  receiveCount: z.optional(z.number()),
  body: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;
/** `GET /v1/dlq` and `POST /v1/dlq/replay` both answer the records concerned. */
export const DeadLetterListSchema = z.looseObject({ records: z.array(DeadLetterSchema) });
