/**
 * The HTTP edge, once, for every IAM-authorized route: who is calling, which route, and what the
 * request says, each refused the same way whichever function serves it. One status rule:
 *   403 UNAUTHENTICATED   no IAM caller (the route is AWS_IAM; API Gateway would have refused)
 *   404 NOT_FOUND         no such path;  405 METHOD_NOT_ALLOWED  the path, another method
 *   400 INVALID_QUERY     the query string fails its schema (problems at their pointers)
 *   413 BODY_TOO_LARGE    over the route's bound, before anything parses it
 *   400 MALFORMED_BODY    not one JSON object (a repeated key included: readers could disagree)
 *   422 INVALID_REQUEST   a JSON object that fails the route's schema (problems at their pointers)
 * Every answer is `{ reason, message }` (functions/http/responses.ts).
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import { parseJsonStrict } from '../../shared/core/strict-json.js';
import { describeProblems, problemsOf, type ValidationProblem } from '../../shared/core/validation-problems.js';
import { problem, requestBody } from './responses.js';

type Answer = APIGatewayProxyStructuredResultV2;
type HttpEvent = APIGatewayProxyEventV2 & { requestContext: { authorizer?: { iam?: { userArn?: string } } } };

/** The IAM caller API Gateway verified, if any. */
export function iamCaller(event: unknown): string | undefined {
  return (event as HttpEvent | undefined)?.requestContext?.authorizer?.iam?.userArn;
}

const isHttp = (event: unknown): event is HttpEvent => Boolean((event as { requestContext?: { http?: unknown } } | undefined)?.requestContext?.http);

/**
 * A middy middleware: an HTTP request without an IAM caller is answered 403 before the handler
 * runs. Other triggers (a schedule, a stream) pass, so a function serving both needs it once.
 */
export function requireIamCaller(routes: string): MiddlewareObj {
  return {
    before: function requireIamCallerBefore(request) {
      if (!isHttp(request.event) || iamCaller(request.event)) return;
      return problem(403, 'UNAUTHENTICATED', `no IAM caller on the request: ${routes} require AWS_IAM (SigV4) authorization`);
    },
  };
}

/** One route, as data: its method and API Gateway path (`/v1/enrollments/{taskId}`), and what answers it. */
export interface HttpRoute<E = HttpEvent> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  handle(event: E, params: Record<string, string>): Promise<Answer>;
}

/**
 * The handler of a table of routes: 404 for an unknown path, 405 (with `allow`) for a known path
 * and another method. Paths match as API Gateway's do; a `{param}` is one non-empty segment.
 */
export function routeTable<E extends { rawPath?: string; requestContext: { http: { method: string; path?: string } } }>(routes: readonly HttpRoute<E>[]): (event: E) => Promise<Answer> {
  const compiled = routes.map((route) => ({ route, pattern: new RegExp(`^${route.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`) }));
  return async (event) => {
    const method = event.requestContext.http.method;
    const path = event.rawPath ?? event.requestContext.http.path ?? '';
    const onPath = compiled.filter((c) => c.pattern.test(path));
    if (onPath.length === 0) return problem(404, 'NOT_FOUND', `no route ${method} ${path}`);
    const match = onPath.find((c) => c.route.method === method);
    if (!match) {
      const allowed = [...new Set(onPath.map((c) => c.route.method))].join(', ');
      return problem(405, 'METHOD_NOT_ALLOWED', `${path} takes ${allowed}`, {}, { allow: allowed });
    }
    const params = Object.fromEntries(Object.entries(match.pattern.exec(path)?.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
    return match.route.handle(event, params);
  };
}

/** The outcome of reading one part of a request: its value, or the answer that refuses it. */
export type Read<T> = { ok: true; value: T } | { ok: false; answer: Answer };

const refused = (answer: Answer): { ok: false; answer: Answer } => ({ ok: false, answer });

/** The query string through `schema`: 400 INVALID_QUERY with the problems. */
export function readQuery<T>(event: { queryStringParameters?: Record<string, string | undefined> | null }, schema: z.ZodMiniType<T>): Read<T> {
  const parsed = schema.safeParse(event.queryStringParameters ?? {});
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems = problemsOf(parsed.error.issues).map((p) => ({ ...p, pointer: p.pointer || '/' }));
  return refused(problem(400, 'INVALID_QUERY', describeProblems(problems), { problems }));
}

/**
 * The body: at most `maxBytes`, one strict JSON object (an empty body is `{}` where `emptyIsObject`),
 * then `check` (a zod schema, or a parser returning problems with pointers).
 */
export function readJsonBody<T>(
  event: { body?: string; isBase64Encoded?: boolean },
  options: { maxBytes: number; emptyIsObject?: boolean; check: z.ZodMiniType<T> | ((value: unknown) => { ok: true; value: T } | { ok: false; problems: ValidationProblem[] }) },
): Read<T> {
  const text = requestBody(event).trim();
  if (Buffer.byteLength(text) > options.maxBytes) return refused(problem(413, 'BODY_TOO_LARGE', `the request is at most ${options.maxBytes} bytes`));
  const parsed = text === '' && options.emptyIsObject ? { ok: true as const, value: {} } : parseJsonStrict(text);
  if (!parsed.ok) return refused(problem(400, 'MALFORMED_BODY', `the body must be one JSON object: ${parsed.detail}`));
  if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value))
    return refused(problem(400, 'MALFORMED_BODY', `the body must be one JSON object, not ${Array.isArray(parsed.value) ? 'an array' : parsed.value === null ? 'null' : `a ${typeof parsed.value}`}`));
  const { check } = options;
  const checked: { ok: true; value: T } | { ok: false; problems: ValidationProblem[] } =
    typeof check === 'function'
      ? check(parsed.value)
      : ((result) => (result.success ? { ok: true as const, value: result.data } : { ok: false as const, problems: problemsOf(result.error.issues) }))(check.safeParse(parsed.value));
  if (checked.ok) return checked;
  return refused(problem(422, 'INVALID_REQUEST', `the request has ${checked.problems.length} problem(s): ${describeProblems(checked.problems)}`, { problems: checked.problems }));
}
