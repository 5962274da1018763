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
import { buildExplainDeps, createAwsClients } from '../../shared/adapters/wiring.js';
import { explainDecision, type ExplainDeps } from '../../shared/app/explain-decision.js';
import { parseJsonStrict } from '../../shared/core/strict-json.js';
import { internalErrorAs500 } from '../http/internal-error.js';
import { json, problem, requestBody } from '../http/responses.js';
import { parseExplainRequest } from './request.js';

const MAX_BODY_BYTES = 16 * 1024;

/** Builds the handler around ready adapters (tests and the local stack use this). */
export function createExplainHandler(deps: ExplainDeps, logger: Logger, metrics: Metrics = functionMetrics('explain')) {
  const log = powertoolsLog(logger);
  return middy(async (event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<APIGatewayProxyStructuredResultV2> => {
    const caller = event.requestContext.authorizer?.iam?.userArn;
    if (!caller) return problem(403, 'UNAUTHENTICATED', 'no IAM caller on the request: explain requires AWS_IAM (SigV4) authorization');
    if (event.requestContext.http.method !== 'POST') return problem(405, 'METHOD_NOT_ALLOWED', 'only POST is supported');
    const text = requestBody(event);
    if (Buffer.byteLength(text) > MAX_BODY_BYTES) return problem(413, 'BODY_TOO_LARGE', `the request is at most ${MAX_BODY_BYTES} bytes`);
    const body = parseJsonStrict(text);
    if (!body.ok) return problem(400, 'MALFORMED_BODY', `body must be one JSON object: ${body.detail}`);
    const parsed = parseExplainRequest(body.value);
    if (!parsed.ok) return problem(422, 'INVALID_REQUEST', `the request has ${parsed.problems.length} problem(s)`, { problems: parsed.problems });
    const explanation = await explainDecision(parsed.request, deps);
    log.info('explained', { caller, allowed: explanation.allowed, reason: explanation.reason, policy: explanation.policy, group: explanation.group });
    return json(200, explanation);
  })
    .use(observe(logger, metrics))
    .use(internalErrorAs500(logger, 'explain request'));
}

const config = loadConfig('explain');
const logger = new Logger({ serviceName: 'explain', logLevel: config.LOG_LEVEL });

export const handler = createExplainHandler(buildExplainDeps(config, createAwsClients(config)), logger);
