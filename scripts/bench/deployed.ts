/**
 * The taskEvents event source as serverless.yml deploys it, read from the file itself (and the
 * resources it includes) so a bench measures the shape that ships: its SQS batch size, its
 * MaximumConcurrency parameter's default and the queue's maxReceiveCount.
 */
import { readServerlessConfig } from '../../test/support/serverless-config.js';

function number(value: unknown, what: string): number {
  const found = Number(value);
  if (value === undefined || !Number.isInteger(found)) throw new Error(`serverless.yml: no ${what}`);
  return found;
}

/** The taskEvents function's SQS batch size. */
export function deployedBatchSize(): number {
  const sqs = readServerlessConfig().functions.taskEvents?.events?.find((e: { sqs?: unknown }) => e.sqs)?.sqs as { batchSize?: number } | undefined;
  return number(sqs?.batchSize, 'batchSize for taskEvents');
}

/** The default of param `taskEventsMaxConcurrency`: taskEvents Lambdas the queue runs at once. */
export function deployedMaxConcurrency(): number {
  return number(readServerlessConfig().params.default.taskEventsMaxConcurrency, 'taskEventsMaxConcurrency param');
}

/** Receives of a task event before the queue moves it to the dead-letter queue. */
export function deployedMaxReceiveCount(): number {
  return number(readServerlessConfig().resources.Resources.TaskEventsQueue?.Properties?.RedrivePolicy?.maxReceiveCount, 'maxReceiveCount for TaskEventsQueue');
}
