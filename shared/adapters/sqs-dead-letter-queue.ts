/**
 * The task-events DLQ for operators. A replay sends each record's body, unchanged, to the main
 * queue, so it goes through task-events exactly as a new event would (its version ordering
 * included: a record older than what is recorded changes nothing), and only then deletes it here.
 * A crash between the two leaves the record on both queues: processing it twice is harmless.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterQueue } from '../ports.js';

/** How long a listed record stays hidden while the queue is walked (then it is released at once). */
const LIST_VISIBILITY_SECONDS = 5;
/** How long a record being replayed stays hidden: it is sent and deleted well within this. */
const REPLAY_VISIBILITY_SECONDS = 60;
const SQS_MAX_BATCH = 10;

export class SqsDeadLetterQueue implements DeadLetterQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly deadLetterQueueUrl: string,
    private readonly taskEventsQueueUrl: string,
  ) {}

  async list(limit: number): Promise<DeadLetter[]> {
    const seen = new Map<string, DeadLetter>();
    const receipts: string[] = [];
    for (;;) {
      const batch = await this.receive(Math.min(SQS_MAX_BATCH, limit - seen.size), LIST_VISIBILITY_SECONDS);
      const fresh = batch.filter((m) => !seen.has(m.MessageId ?? ''));
      for (const message of fresh) seen.set(message.MessageId ?? '', deadLetterOf(message));
      receipts.push(...batch.flatMap((m) => (m.ReceiptHandle ? [m.ReceiptHandle] : [])));
      if (fresh.length === 0 || seen.size >= limit) break;
    }
    await this.release(receipts);
    return [...seen.values()];
  }

  async replay(limit: number, startedAt: Date): Promise<DeadLetter[]> {
    const replayed: DeadLetter[] = [];
    const later: string[] = [];
    while (replayed.length < limit) {
      const batch = await this.receive(Math.min(SQS_MAX_BATCH, limit - replayed.length), REPLAY_VISIBILITY_SECONDS);
      if (batch.length === 0) break;
      for (const message of batch) {
        // Set aside after the replay began: task-events already had it back (a malformed record
        // replayed a moment ago). Replaying it again would go round in circles until `limit`.
        if (Number(message.Attributes?.SentTimestamp) >= startedAt.getTime()) {
          if (message.ReceiptHandle) later.push(message.ReceiptHandle);
          continue;
        }
        await this.sqs.send(new SendMessageCommand({ QueueUrl: this.taskEventsQueueUrl, MessageBody: message.Body ?? '' }));
        await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle }));
        replayed.push(deadLetterOf(message));
      }
    }
    await this.release(later);
    return replayed;
  }

  /** Makes listed records visible again at once, so a list never hides them from the next one or a replay. */
  private async release(receipts: string[]): Promise<void> {
    for (let i = 0; i < receipts.length; i += SQS_MAX_BATCH) {
      const entries = receipts.slice(i, i + SQS_MAX_BATCH).map((ReceiptHandle, n) => ({ Id: String(n), ReceiptHandle, VisibilityTimeout: 0 }));
      await this.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.deadLetterQueueUrl, Entries: entries }));
    }
  }

  private async receive(max: number, visibilityTimeout: number): Promise<Message[]> {
    if (max <= 0) return [];
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: 0,
        VisibilityTimeout: visibilityTimeout,
        MessageAttributeNames: ['reason', 'detail'],
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      }),
    );
    return out.Messages ?? [];
  }
}

function deadLetterOf(message: Message): DeadLetter {
  const sent = Number(message.Attributes?.SentTimestamp);
  const count = Number(message.Attributes?.ApproximateReceiveCount);
  const reason = message.MessageAttributes?.reason?.StringValue;
  const detail = message.MessageAttributes?.detail?.StringValue;
  return {
    messageId: message.MessageId ?? '',
    ...(reason ? { reason } : {}),
    ...(detail ? { detail } : {}),
    ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}),
    ...(Number.isFinite(count) && count > 0 ? { receiveCount: count } : {}),
    body: message.Body ?? '',
  };
}
