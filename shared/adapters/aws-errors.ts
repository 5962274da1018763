import { UpstreamThrottledError } from '../errors.js';

const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'RequestThrottled']);

/** The SDK error's name (its exception type); undefined for anything that is not an error object. */
export const errorName = (error: unknown): string | undefined => (error as { name?: string } | null)?.name;

/**
 * A DynamoDB condition that did not hold. By name, not instanceof: the name is what the SDK's
 * ConditionalCheckFailedException carries, and the check needs no DynamoDB import here.
 */
export const isConditionFailure = (error: unknown): boolean => errorName(error) === 'ConditionalCheckFailedException';

/** Turns SDK throttling into our typed error; anything else is rethrown as is. */
export function translateAwsError(error: unknown, what: string): never {
  const name = errorName(error) ?? '';
  if (THROTTLING.has(name)) throw new UpstreamThrottledError(`${what} was throttled`, { cause: error });
  throw error;
}
