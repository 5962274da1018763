/**
 * The auth exchange against the local AWS: real moto STS/IAM/ECS, the Kubernetes API double,
 * the real handler, and every STS call recorded (where it went), so tests can assert that no
 * request reaches any host but the configured STS endpoint.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { buildExchangeRequest } from '../../cli/agent/sign-request.js';
import type { AwsCredentials } from '../../cli/agent/credentials.js';
import { createAuthHandler } from '../../functions/auth/handler.js';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import { buildExchangeDeps } from '../../shared/adapters/wiring.js';
import type { ExchangeDeps } from '../../shared/app/exchange-token.js';
import { loadConfig } from '../../shared/config.js';
import type { StsCall } from '../../shared/core/exchange.js';
import { localAwsConfig } from './local-aws.js';
import { MemoryLog } from './memory-log.js';
import type { Pipeline } from './pipeline.js';
import { asFunction, asHandler } from './aws-call-recorder.js';

export const AUDIENCE = 'test-deployment';

export interface ExchangeHarness {
  deps: ExchangeDeps;
  stsCalls: string[];
  log: MemoryLog;
  /** What the handler takes as now, and the default signing date (the real time unless a test fixes it). */
  clock: () => Date;
  /**
   * Runs `fn` with the clock fixed half-way through a minute no other call used: limits count per
   * clock minute, so a burst lands in one window however slow the machine, without waiting for one.
   */
  atFreshMinute<T>(fn: (now: Date) => Promise<T>): Promise<T>;
  exchange(body: unknown, sourceIp?: string): Promise<{ status: number; headers: Record<string, string>; json: Record<string, unknown> }>;
  /** Signs GetCallerIdentity with `credentials` as the agent does; options vary the request. */
  sign(credentials: AwsCredentials, taskArn: string, options?: { stsUrl?: string; serverId?: string; signingDate?: Date; region?: string; workloadGroup?: string; labels?: Record<string, string> }): Promise<Record<string, unknown>>;
  assumeTaskRole(roleArn: string, session: string): Promise<AwsCredentials>;
}

/** Builds the exchange on top of a running Pipeline (same moto, tables and mesh double). */
export async function startExchange(p: Pipeline, overrides: Record<string, string> = {}): Promise<ExchangeHarness> {
  const aws = localAwsConfig();
  const config = loadConfig('auth', {
    AWS_ENDPOINT_URL: aws.endpoint,
    POLICY_TABLE: p.stack.policyTable,
    ENROLLMENT_TABLE: p.stack.enrollmentTable,
    AUTH_TABLE: p.stack.authTable,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_ALLOWED_ACCOUNTS: '123456789012',
    STS_LOCAL_ENDPOINT: aws.endpoint,
    POLICY_CACHE_SECONDS: '0',
    ISSUER_URL: 'http://127.0.0.1:9',
    ...overrides,
  });
  const log = new MemoryLog();
  const mesh = new KubernetesMeshApi({ baseUrl: p.k8s.url, token: async () => 'test-mesh-token', timeoutMs: 2000 });
  const as = p.scope('auth', { TokenSecretPrefix: config.TOKEN_SECRET_PREFIX, ...(config.CROSS_ACCOUNT_ROLE_NAME ? { CrossAccountRoleName: config.CROSS_ACCOUNT_ROLE_NAME } : {}) });
  const deps = await asFunction(as, () => buildExchangeDeps(config, log, p.clients, { digest: (s) => createHash('sha256').update(s).digest('hex'), newTokenId: randomUUID, mesh }));
  const stsCalls: string[] = [];
  const real = deps.sts;
  deps.sts = { verify: (call: StsCall) => (stsCalls.push(call.url), real.verify(call)) };
  const handler = asHandler(as, createAuthHandler(deps, new Logger({ logLevel: 'SILENT' }), new Metrics({ namespace: 'test', serviceName: 'auth' }), () => harness.clock()));
  // Minutes ahead of any the real clock has reached: moto checks no signing date.
  const firstFreeMinute = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
  let minutesUsed = 0;
  const harness: ExchangeHarness = {
    deps,
    stsCalls,
    log,
    clock: () => new Date(),
    async atFreshMinute(fn) {
      const now = new Date(firstFreeMinute + minutesUsed++ * 120_000 + 30_000);
      const real = harness.clock;
      harness.clock = () => now;
      try {
        return await fn(now);
      } finally {
        harness.clock = real;
      }
    },
    async exchange(body, sourceIp = '10.9.8.7') {
      const event = { version: '2.0', rawPath: '/v1/auth/exchange', headers: {}, body: typeof body === 'string' ? body : JSON.stringify(body), isBase64Encoded: false, requestContext: { http: { method: 'POST', path: '/v1/auth/exchange', sourceIp } } } as unknown as APIGatewayProxyEventV2;
      const res = (await handler(event, {} as Context)) as APIGatewayProxyStructuredResultV2;
      return { status: res.statusCode ?? 0, headers: (res.headers ?? {}) as Record<string, string>, json: JSON.parse(res.body ?? '{}') as Record<string, unknown> };
    },
    async sign(credentials, taskArn, options = {}) {
      return (await buildExchangeRequest({
        credentials,
        region: options.region ?? 'us-east-1',
        stsUrl: options.stsUrl ?? `${aws.endpoint}/`,
        serverId: options.serverId ?? AUDIENCE,
        signingDate: options.signingDate ?? harness.clock(),
        taskArn,
        ...(options.workloadGroup ? { workloadGroup: options.workloadGroup } : {}),
        ...(options.labels ? { labels: options.labels } : {}),
      })) as unknown as Record<string, unknown>;
    },
    async assumeTaskRole(roleArn, session) {
      const out = await new STSClient(aws).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: session }));
      const c = out.Credentials!;
      return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
    },
  };
  return harness;
}
