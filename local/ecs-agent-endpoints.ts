/**
 * Loopback stand-ins for what an ECS task gives the agent (the container credentials endpoint and
 * the task metadata endpoint v4), plus a scriptable exchange endpoint that records what it gets.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface StandIn {
  /** The URL to give the agent (see each starter). */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface StandInAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

type Answerer = (request: RecordedRequest, index: number) => StandInAnswer;

/** The JSON the ECS credentials endpoint serves. */
export interface ContainerCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: string;
}

/**
 * Serves `creds` as the ECS container credentials endpoint. `url` is for AWS_CONTAINER_CREDENTIALS_FULL_URI;
 * with `authorizationToken`, requests without that exact Authorization header get a 401.
 */
export function startCredentialsEndpoint(creds: ContainerCredentials, options: { authorizationToken?: string } = {}): Promise<StandIn> {
  return startStandIn('/v2/credentials/stand-in', (request) => {
    if (options.authorizationToken !== undefined && request.headers.authorization !== options.authorizationToken) return { status: 401, body: { message: 'unauthorized' } };
    return request.path === '/v2/credentials/stand-in' ? { status: 200, body: { RoleArn: 'arn:aws:iam::123456789012:role/stand-in', ...creds } } : { status: 404, body: {} };
  });
}

/** Serves the task metadata endpoint v4 for `taskArn`. `url` is for ECS_CONTAINER_METADATA_URI_V4. */
export function startTaskMetadataEndpoint(taskArn: string): Promise<StandIn> {
  const base = '/v4/stand-in-container';
  return startStandIn(base, (request) =>
    request.path === `${base}/task` ? { status: 200, body: { TaskARN: taskArn, Cluster: taskArn.replace(/:task\/([^/]+)\/.*$/, ':cluster/$1'), KnownStatus: 'RUNNING', DesiredStatus: 'RUNNING' } } : { status: 404, body: {} },
  );
}

/**
 * An exchange endpoint whose n-th answer (from 0) is `answer(request, n)`. `url` is its origin;
 * with `tls`, it serves https with that key and certificate.
 */
export function startExchangeEndpoint(answer: Answerer, options: { tls?: { key: string; cert: string } } = {}): Promise<StandIn> {
  return startStandIn('', answer, options.tls);
}

function startStandIn(path: string, answer: Answerer, tls?: { key: string; cert: string }): Promise<StandIn> {
  const requests: RecordedRequest[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(request);
      const reply = answer(request, requests.length - 1);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
    });
  };
  const server: Server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handle) : createHttpServer(handle);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`,
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive sockets would otherwise hold close() open for seconds.
            server.closeAllConnections();
          }),
      });
    });
  });
}
