/**
 * The taskEvents event source as serverless.yml deploys it, read from the file itself so a bench
 * measures the shape that ships: its SQS batch size, its MaximumConcurrency parameter's default and
 * the queue's maxReceiveCount.
 */
import { readFileSync } from 'node:fs';

const yml = () => readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8');

function number(text: string, pattern: RegExp, what: string): number {
  const found = pattern.exec(text)?.[1];
  if (!found) throw new Error(`serverless.yml: no ${what}`);
  return Number(found);
}

/** The taskEvents function's SQS batch size. */
export function deployedBatchSize(): number {
  const text = yml();
  return number(text.slice(text.indexOf('\n  taskEvents:')), /\n\s+batchSize:\s*(\d+)/, 'batchSize for taskEvents');
}

/** The default of param `taskEventsMaxConcurrency`: taskEvents Lambdas the queue runs at once. */
export function deployedMaxConcurrency(): number {
  return number(yml(), /\n\s+taskEventsMaxConcurrency:\s*'?(\d+)'?/, 'taskEventsMaxConcurrency param');
}

/** Receives of a task event before the queue moves it to the dead-letter queue. */
export function deployedMaxReceiveCount(): number {
  const text = yml();
  return number(text.slice(text.indexOf('\n    TaskEventsQueue:')), /\n\s+maxReceiveCount:\s*(\d+)/, 'maxReceiveCount for TaskEventsQueue');
}
