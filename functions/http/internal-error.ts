/**
 * Internals never leak from an HTTP route: the caller gets a generic 500 with a stable reason,
 * the log gets the cause. Events that are not HTTP requests (a schedule) keep their error, so
 * Lambda's retries and error metric see it.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';

/** A middy middleware answering an unhandled error of an HTTP request with a 500. */
export function internalErrorAs500(logger: Logger, what: string): MiddlewareObj {
  return {
    onError: function internalErrorAs500OnError(request) {
      const event = request.event as { requestContext?: { http?: unknown } } | undefined;
      if (!event?.requestContext?.http) return;
      logger.error(`${what} failed`, request.error as Error);
      request.response = { statusCode: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'INTERNAL', message: 'internal error' }) };
    },
  };
}
