/**
 * Serves the HTTP API's routes on loopback by turning each request into the API Gateway
 * (HTTP API, payload 2.0) event the deployed handlers receive, so `npm run local` runs the
 * same handler code as AWS. Routes marked `auth: 'iam'` get API Gateway's AWS_IAM authorization:
 * a SigV4 signature by the local operator's credentials (see iam-authorizer.ts), or 403.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { verifyIamRequest } from './iam-authorizer.js';

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Route {
  method: string;
  /** API Gateway route syntax: `/v1/enrollments/{taskId}`. */
  path: string;
  handler: HttpHandler;
  /** `iam`: as `authorizer: type: aws_iam` in serverless.yml. */
  auth?: 'iam';
}

const MAX_BODY_BYTES = 1024 * 1024;

/** A request API Gateway itself refuses, before any handler: answered as it answers. */
class GatewayRefusal extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}
const GATEWAY_MESSAGES = { 400: 'Bad Request', 413: 'Request Entity Too Large' } as const;

/** Starts the server; resolves once it listens. */
export async function startHttpApi(routes: Route[], port: number, host = '127.0.0.1'): Promise<Server> {
  const compiled = routes.map((r) => ({ ...r, pattern: new RegExp(`^${r.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`) }));
  const server = createServer((req, res) => {
    void (async () => {
      const url = parseRequestUrl(req.url, host);
      const method = req.method ?? 'GET';
      // An HTTP API route is a method and a path: a known path with another method matches no
      // route, and API Gateway answers that 404 as it answers an unknown path (never 405).
      const route = compiled.find((r) => r.method === method && r.pattern.test(url.pathname));
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not Found' }));
        return;
      }
      const body = await readBody(req);
      const params = decodePathParameters(route.pattern.exec(url.pathname)?.groups);
      const event = toEvent(req, url, method, `${route.method} ${route.path}`, params, body);
      if (route.auth === 'iam') {
        const verdict = await verifyIamRequest({ method, path: url.pathname, rawQueryString: event.rawQueryString, headers: event.headers, body });
        if (!verdict.ok) {
          // API Gateway's answer, which says why only in the cases it does; the reason is for this log.
          console.error(`[http-api] 403 ${method} ${url.pathname}: ${verdict.reason}`);
          res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ message: verdict.message ?? 'Forbidden' }));
          return;
        }
        Object.assign(event.requestContext, { authorizer: { iam: verdict.iam } });
      }
      const result = await route.handler(event, { awsRequestId: event.requestContext.requestId, functionName: 'local' } as Context);
      res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>).end(result.body ?? '');
    })().catch((error: unknown) => {
      if (error instanceof GatewayRefusal) {
        console.error(`[http-api] ${error.status} ${req.method} ${req.url}: ${error.message}`);
        // The rest of an oversized body is not read: close the connection rather than drain it.
        if (!res.headersSent) res.writeHead(error.status, { 'content-type': 'application/json', ...(error.status === 413 ? { connection: 'close' } : {}) });
        res.end(JSON.stringify({ message: GATEWAY_MESSAGES[error.status] }));
        return;
      }
      console.error('[http-api]', error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

function parseRequestUrl(raw: string | undefined, host: string): URL {
  try {
    return new URL(raw ?? '/', `http://${host}`);
  } catch {
    throw new GatewayRefusal(400, 'the request target is not a URL');
  }
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new GatewayRefusal(413, `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;
}

function decodePathParameters(raw: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!raw) return undefined;
  try {
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, decodeURIComponent(v)]));
  } catch {
    throw new GatewayRefusal(400, 'a path parameter has a malformed percent-escape');
  }
}

function toEvent(req: IncomingMessage, url: URL, method: string, routeKey: string, params: Record<string, string> | undefined, body: string | undefined): APIGatewayProxyEventV2 {
  // Built from entries, as API Gateway's JSON event is: a header or parameter named __proto__ or
  // constructor is data, never a lookup into Object.prototype.
  const headers: Record<string, string> = Object.fromEntries(Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.join(',') : v]])));
  const joined = new Map<string, string>();
  for (const [k, v] of url.searchParams) joined.set(k, joined.has(k) ? `${joined.get(k)},${v}` : v);
  const query: Record<string, string> = Object.fromEntries(joined);
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    ...(params ? { pathParameters: params } : {}),
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: `local-${now.getTime()}-${Math.random().toString(36).slice(2, 8)}`,
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
  };
}
