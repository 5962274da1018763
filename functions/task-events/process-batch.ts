/**
 * SQS batch → parsed events → enrollment, answered as a partial batch response: only failed
 * records are retried. A malformed record is set aside on the DLQ with its reason at once
 * (retrying cannot fix it) and never takes the rest of the batch down.
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { enrollTasks, type BatchItem, type BatchResult } from '../../shared/app/enroll-tasks.js';
import type { EnrollmentDeps } from '../../shared/app/deps.js';
import type { DeadLetterSink } from '../../shared/ports.js';
import { REASONS } from '../../shared/core/reasons.js';
import { parseTaskStateChange } from './task-state-change.js';

export interface TaskEventsDeps extends EnrollmentDeps {
  deadLetters: DeadLetterSink | undefined;
}

/** Processes one SQS batch; returns the ids SQS must redeliver and what happened per task. */
export async function processTaskEventBatch(records: SQSRecord[], deps: TaskEventsDeps, now: Date): Promise<SQSBatchResponse & { result: BatchResult; setAside: number }> {
  const items: BatchItem[] = [];
  const failed: string[] = [];
  let setAside = 0;
  for (const record of records) {
    const parsed = parseTaskStateChange(record.body ?? '');
    if (parsed.ok) {
      items.push({ id: record.messageId, event: parsed.value });
      continue;
    }
    deps.log.error('malformed record set aside', { messageId: record.messageId, correlation_id: record.messageId, reason: parsed.reason, detail: parsed.detail });
    try {
      if (!deps.deadLetters) throw new Error('no DEAD_LETTER_QUEUE_URL configured');
      await deps.deadLetters.setAside(record.body ?? '', REASONS.MALFORMED_EVENT, parsed.detail);
      setAside += 1;
    } catch (error) {
      // Could not set it aside: let SQS redeliver it (and redrive it to the DLQ after maxReceiveCount).
      deps.log.error('could not set the malformed record aside; it will be redelivered', { messageId: record.messageId, correlation_id: record.messageId, error: (error as Error).message });
      failed.push(record.messageId);
    }
  }
  const result = await enrollTasks(items, deps, now);
  return { batchItemFailures: [...failed, ...result.failedIds].map((itemIdentifier) => ({ itemIdentifier })), result, setAside };
}
