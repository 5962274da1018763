/**
 * Sets a record that can never be processed aside on the DLQ, with its reason as message
 * attributes, so it is kept for an operator instead of being retried until redrive.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterSink } from '../ports.js';

export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async setAside(body: string, reason: string, detail: string): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: body.length > 0 ? body : '(empty body)',
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: reason },
          detail: { DataType: 'String', StringValue: detail.slice(0, 1024) || '-' },
        },
      }),
    );
  }
}
