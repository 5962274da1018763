/** JSON answers of the HTTP API: every error carries a stable `reason` and a readable `message`. */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

export const problem = (statusCode: number, reason: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  json(statusCode, { reason, message, ...extra }, headers);

/** The request body as text (API Gateway base64-encodes bodies it deems binary). */
export function requestBody(event: { body?: string; isBase64Encoded?: boolean }): string {
  if (event.body === undefined) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** Header lookup regardless of case (API Gateway lower-cases them, other callers may not). */
export function header(headers: Record<string, string | undefined> | undefined, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers ?? {})) if (key.toLowerCase() === wanted) return value;
  return undefined;
}
