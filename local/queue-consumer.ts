/**
 * The local stand-in for Lambda's SQS event source mapping: receives up to 10 messages,
 * invokes the handler with an SQS event, deletes what succeeded and leaves the reported
 * failures to come back after the visibility timeout (and to the DLQ after maxReceiveCount).
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface QueueConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  handler: SqsHandler;
  waitSeconds?: number;
  onError?: (error: unknown) => void;
}

export class QueueConsumer {
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: QueueConsumerOptions) {}

  /** One receive → invoke → delete round; returns how many messages were handled. */
  async pollOnce(waitSeconds = 0): Promise<{ received: number; failed: number }> {
    const { sqs, queueUrl, handler } = this.options;
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds, AttributeNames: ['All'] }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) return { received: 0, failed: 0 };
    const event: SQSEvent = {
      Records: messages.map((m) => ({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body ?? '',
        attributes: (m.Attributes ?? {}) as unknown as SQSEvent['Records'][number]['attributes'],
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: this.options.queueArn,
        awsRegion: this.options.region,
      })),
    };
    const result = await handler(event, { functionName: 'task-events', awsRequestId: `local-${Date.now()}` } as Context);
    const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
    const done = messages.filter((m) => !failed.has(m.MessageId!));
    if (done.length > 0) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    return { received: messages.length, failed: failed.size };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.pollOnce(this.options.waitSeconds ?? 1);
        } catch (error) {
          (this.options.onError ?? ((e) => console.error('[queue-consumer]', e)))(error);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
