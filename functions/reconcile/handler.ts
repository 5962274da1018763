/**
 * reconcile Lambda (docs/architecture.md#reconciler): an EventBridge schedule runs a pass
 * over every cluster, carrying on from the stored cursor; the policy table's stream runs one for
 * the namespace a policy write touched, and IAM's CloudTrail events one for the role that changed
 * (revocation without waiting for the schedule); `POST /v1/reconcile` (IAM-authorized) runs one
 * on demand, optionally dry, for given clusters or a namespace.
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../../shared/config.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { countCalls } from '../../shared/adapters/aws-call-counter.js';
import { buildReconcileDeps, createAwsClients, dynamoClient, ecsClient, iamClient, secretsClient, stsClient } from '../../shared/adapters/wiring.js';
import { reconcileTasks, type ReconcileDeps, type ReconcileOptions, type ReconcileReport } from '../../shared/app/reconcile-tasks.js';
import { internalErrorAs500 } from '../http/internal-error.js';
import { iamCaller, readJsonBody, requireIamCaller } from '../http/edge.js';
import { json, problem } from '../http/responses.js';
import { parseReconcileRequest } from './request.js';
import { passesFor } from './triggers.js';
import { clusterList } from '../../shared/core/task.js';

const MAX_BODY_BYTES = 16 * 1024;

/** The pass asked for, or the request's problems: the edge answers those 422. */
function reconcileOptionsOf(value: unknown) {
  const parsed = parseReconcileRequest(value);
  return parsed.ok ? { ok: true as const, value: parsed.options } : parsed;
}

type ReconcileTrigger = APIGatewayProxyEventV2WithIAMAuthorizer | Record<string, unknown>;

const isHttp = (event: ReconcileTrigger): event is APIGatewayProxyEventV2WithIAMAuthorizer => 'requestContext' in event && (event as { requestContext?: { http?: unknown } }).requestContext?.http !== undefined;

/** Builds the handler around ready dependencies (tests and the local stack use this). */
export function createReconcileHandler(deps: ReconcileDeps, logger: Logger, metrics: Metrics, scheduled: Pick<ReconcileOptions, 'clusters'> = {}, awsCalls: ReadonlyMap<string, number> = new Map()) {
  const log = powertoolsLog(logger);
  const totalCalls = () => [...awsCalls.values()].reduce((a, b) => a + b, 0);
  let callsBefore = 0;
  const record = (report: ReconcileReport) => {
    const calls = totalCalls() - callsBefore;
    metrics.addMetric('reconcile_aws_calls', MetricUnit.Count, calls);
    for (const [kind, count] of Object.entries(report.counts)) metrics.addMetric(`repair_${kind}`, MetricUnit.Count, count);
    metrics.addMetric('reconcile_tasks_seen', MetricUnit.Count, report.tasksSeen);
    // Tasks whose facts could not be read this pass (the next judges them again).
    metrics.addMetric('reconcile_unjudged', MetricUnit.Count, report.unjudged.length);
    metrics.addMetric('reconcile_duration', MetricUnit.Milliseconds, report.durationMs);
    metrics.publishStoredMetrics();
    log.info('reconcile pass', { dryRun: report.dryRun, clusters: report.clusters.length, tasksSeen: report.tasksSeen, tasksJudged: report.tasksJudged, complete: report.complete, counts: report.counts, unjudged: report.unjudged.length, durationMs: report.durationMs, awsCalls: calls });
  };
  return middy(async (event: ReconcileTrigger): Promise<APIGatewayProxyStructuredResultV2 | ReconcileReport[]> => {
    if (!isHttp(event)) {
      const reports: ReconcileReport[] = [];
      for (const pass of passesFor(event)) {
        callsBefore = totalCalls();
        const report = await reconcileTasks({ ...scheduled, ...pass }, deps, new Date());
        record(report);
        reports.push(report);
      }
      return reports;
    }
    if (event.requestContext.http.method !== 'POST') return problem(405, 'METHOD_NOT_ALLOWED', 'only POST is supported');
    const body = readJsonBody(event, { maxBytes: MAX_BODY_BYTES, emptyIsObject: true, check: reconcileOptionsOf });
    if (!body.ok) return body.answer;
    callsBefore = totalCalls();
    const report = await reconcileTasks(body.value, deps, new Date());
    log.info('reconcile requested', { caller: iamCaller(event), dryRun: report.dryRun });
    record(report);
    return json(200, report);
  })
    .use(observe(logger, metrics))
    .use(requireIamCaller('reconcile'))
    .use(internalErrorAs500(logger, 'reconcile'));
}

const config = loadConfig('reconcile');
const logger = new Logger({ serviceName: 'reconcile', logLevel: config.LOG_LEVEL });
const clusters = clusterList(config.ECS_CLUSTERS);
const clients = createAwsClients(config, { dynamo: dynamoClient, ecs: ecsClient, iam: iamClient, sts: stsClient, secrets: secretsClient });
// Every AWS call of a pass is counted, for the reconcile_aws_calls metric (docs/reconciler.md's cost model).
const awsCalls = new Map<string, number>();
countCalls({ ...clients }, awsCalls);

export const handler = createReconcileHandler(
  buildReconcileDeps(config, powertoolsLog(logger), clients),
  logger,
  functionMetrics('reconcile'),
  clusters.length ? { clusters } : {},
  awsCalls,
);
