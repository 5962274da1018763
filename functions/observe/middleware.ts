/**
 * What every handler adds to its middy chain (docs/operate.md#signals-metrics-logs-traces): the Lambda context and a correlation id on every log line, a ColdStart metric, and the metrics the
 * invocation stored published at its end (EMF: CloudWatch turns the log line into metrics).
 */
import type { MiddlewareObj } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { correlationIdOf } from './correlation-id.js';

/** The CloudWatch namespace of every metric the functions emit. */
export const METRICS_NAMESPACE = 'EcsMeshOnboarding';

/** A Metrics instance for one function, in the project's namespace. */
export function functionMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}

/** Lambda context, correlation id and metrics for one handler; `metrics` may be shared with the handler's own code. */
export function observe(logger: Logger, metrics: Metrics): MiddlewareObj<unknown, unknown, Error, Context>[] {
  const publish = () => {
    // Only when something was stored: Powertools warns on every empty publish.
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return [
    // resetKeys: one invocation's correlation id never leaks into the next one's lines.
    injectLambdaContext(logger, { resetKeys: true }),
    {
      before: function observeBefore(request) {
        const id = correlationIdOf(request.event);
        if (id !== undefined) logger.setCorrelationId(id);
        metrics.captureColdStartMetric(request.context?.functionName);
      },
      after: function observeAfter() {
        publish();
      },
      onError: function observeOnError() {
        publish();
      },
    },
  ];
}
