import { UpstreamThrottledError } from '../errors.js';

const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'RequestThrottled']);

/** Turns SDK throttling into our typed error; anything else is rethrown as is. */
export function translateAwsError(error: unknown, what: string): never {
  const name = (error as { name?: string } | null)?.name ?? '';
  if (THROTTLING.has(name)) throw new UpstreamThrottledError(`${what} was throttled`, { cause: error });
  throw error;
}
