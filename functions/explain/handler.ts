/**
 * explain Lambda: `POST /v1/explain` (IAM-authorized). Reads ECS, IAM, the policy table (never
 * cached here, so an edit shows at once) and the mesh; writes nothing.
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../../shared/config.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { buildExplainDeps, createAwsClients, dynamoClient, ecsClient, iamClient, secretsClient, stsClient } from '../../shared/adapters/wiring.js';
import { explainDecision, type ExplainDeps } from '../../shared/app/explain-decision.js';
import { internalErrorAs500 } from '../http/internal-error.js';
import { iamCaller, readJsonBody, requireIamCaller } from '../http/edge.js';
import { json, problem } from '../http/responses.js';
import { parseExplainRequest } from './request.js';

const MAX_BODY_BYTES = 16 * 1024;

/** The request, or its problems: the edge answers those 422. */
function explainRequestOf(value: unknown) {
  const parsed = parseExplainRequest(value);
  return parsed.ok ? { ok: true as const, value: parsed.request } : parsed;
}

/** Builds the handler around ready adapters (tests and the local stack use this). */
export function createExplainHandler(deps: ExplainDeps, logger: Logger, metrics: Metrics = functionMetrics('explain')) {
  const log = powertoolsLog(logger);
  return middy(async (event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<APIGatewayProxyStructuredResultV2> => {
    if (event.requestContext.http.method !== 'POST') return problem(405, 'METHOD_NOT_ALLOWED', 'only POST is supported');
    const body = readJsonBody(event, { maxBytes: MAX_BODY_BYTES, check: explainRequestOf });
    if (!body.ok) return body.answer;
    const explanation = await explainDecision(body.value, deps);
    log.info('explained', { caller: iamCaller(event), allowed: explanation.allowed, reason: explanation.reason, policy: explanation.policy, group: explanation.group });
    return json(200, explanation);
  })
    .use(observe(logger, metrics))
    .use(requireIamCaller('explain'))
    .use(internalErrorAs500(logger, 'explain request'));
}

const config = loadConfig('explain');
const logger = new Logger({ serviceName: 'explain', logLevel: config.LOG_LEVEL });

export const handler = createExplainHandler(buildExplainDeps(config, createAwsClients(config, { dynamo: dynamoClient, ecs: ecsClient, iam: iamClient, sts: stsClient, secrets: secretsClient })), logger);
