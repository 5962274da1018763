/**
 * Bench section `exchange`: the auth exchange against the floor (issue 13).
 * - latency: N warm exchanges through the core, each followed by one bare signed GetCallerIdentity
 *   on the same HTTP path to moto (HttpStsVerifier), so both see the same moto in the same moment;
 *   every AWS call is timed, and the calls in series are the longest chain that never overlaps.
 * - fleet: 3,000 tasks behind one source address, arriving over one simulated minute (50 a second,
 *   API Gateway's default stage throttle for the route), agents retrying after Retry-After. The
 *   clock is simulated (the core takes `now`); the guard and the enrollment records are moto's
 *   DynamoDB, STS and ECS are in-process stand-ins (moto holds no 3,000 task sessions quickly).
 * - abuse: a flood of badly signed requests from one address in one minute: how many reach STS.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { buildExchangeRequest } from '../../cli/agent/sign-request.js';
import type { AwsCredentials } from '../../cli/agent/credentials.js';
import { loadConfig } from '../../shared/config.js';
import { buildExchangeDeps, createAwsClients, EVERY_AWS_CLIENT } from '../../shared/adapters/wiring.js';
import { DynamoDbEnrollmentStore } from '../../shared/adapters/dynamodb-enrollment-store.js';
import { FileMeshApi } from '../../shared/adapters/file-mesh-api.js';
import { HttpStsVerifier } from '../../shared/adapters/http-sts-verifier.js';
import { exchangeToken, type ExchangeDeps } from '../../shared/app/exchange-token.js';
import { validateExchangeRequest } from '../../shared/core/exchange-request.js';
import type { StsCall } from '../../shared/core/exchange.js';
import type { EcsTaskDescription } from '../../shared/core/task.js';
import { StsRejectedError } from '../../shared/errors.js';
import type { CallerIdentity, Log } from '../../shared/ports.js';
import { bootstrapLocalStack } from '../../local/bootstrap.js';
import { LOCAL_AWS_ENV, startMoto } from '../../local/moto.js';
import type { BenchRow, BenchSection } from './row.js';

const EXCHANGES = Number(process.env.BENCH_EXCHANGES ?? 30);
const FLEET = Number(process.env.BENCH_FLEET ?? 3000);
const FLOOD = Number(process.env.BENCH_FLOOD ?? 1000);
const ACCOUNT = '123456789012';
const AUDIENCE = 'bench-deployment';
const quiet: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: (m, e) => console.error(m, e) };
const digest = (s: string) => createHash('sha256').update(s).digest('hex');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export const exchangeSection: BenchSection = { name: 'exchange', run };

type Span = { name: string; start: number; end: number };

/** The longest chain of calls that never overlap: the round trips an exchange waits for in turn. */
export function callsInSeries(spans: readonly Span[]): number {
  let count = 0;
  let end = -Infinity;
  for (const s of [...spans].sort((a, b) => a.end - b.end)) {
    if (s.start >= end) {
      count++;
      end = s.end;
    }
  }
  return count;
}

async function run(): Promise<BenchRow[]> {
  const moto = await startMoto();
  const meshDir = mkdtempSync(join(tmpdir(), 'bench-exchange-mesh-'));
  try {
    Object.assign(process.env, LOCAL_AWS_ENV);
    const aws = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    const stack = await bootstrapLocalStack(aws);
    const config = loadConfig('auth', {
      AWS_ENDPOINT_URL: moto.endpoint, POLICY_TABLE: stack.policyTable, ENROLLMENT_TABLE: stack.enrollmentTable, AUTH_TABLE: stack.authTable,
      AUTH_AUDIENCE: AUDIENCE, AUTH_ALLOWED_ACCOUNTS: ACCOUNT, STS_LOCAL_ENDPOINT: moto.endpoint, ISSUER_URL: 'http://127.0.0.1:9',
    });
    const clients = createAwsClients(config, EVERY_AWS_CLIENT);
    mkdirSync(join(meshDir, 'workloadgroups'), { recursive: true });
    writeFileSync(join(meshDir, 'workloadgroups', 'g.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: {name: ratings, namespace: bookinfo, uid: u1, labels: {app: ratings}}\nspec: {template: {ports: {http: 9080}}}\n');
    const role = (await clients.iam.send(new CreateRoleCommand({ RoleName: 'bench-task', AssumeRolePolicyDocument: '{}', Tags: [{ Key: 'ecsmesh.io/workload-group', Value: 'bookinfo/ratings' }] }))).Role!;
    await clients.ecs.send(new CreateClusterCommand({ clusterName: 'bench' }));
    const def = (await clients.ecs.send(new RegisterTaskDefinitionCommand({ family: 'bench', networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role.Arn!, containerDefinitions: [{ name: 'app', image: 'x', memory: 256 }] }))).taskDefinition!.taskDefinitionArn!;
    const subnet = (await new EC2Client(aws).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
    const policy = { apiVersion: 'ecsmesh.io/v1alpha1', kind: 'OnboardingPolicy', metadata: { name: 'all', namespace: 'bookinfo' }, spec: { allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] } };
    await clients.dynamo.send(new PutCommand({ TableName: stack.policyTable, Item: { namespace: 'bookinfo', name: 'all', revision: 1, document: JSON.stringify(policy) } }));

    const spans: Span[] = [];
    for (const [service, client] of Object.entries(clients))
      (client as unknown as { middlewareStack: { add: (m: unknown, o: unknown) => void } }).middlewareStack.add(
        (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
          const start = performance.now();
          try {
            return await next(args);
          } finally {
            spans.push({ name: `${service}:${String(context.commandName).replace(/Command$/, '')}`, start, end: performance.now() });
          }
        },
        { step: 'initialize', name: 'benchSpans' },
      );
    const deps = await buildExchangeDeps(config, quiet, clients, { digest, newTokenId: randomUUID, mesh: new FileMeshApi(meshDir) });
    const sts = deps.sts;
    deps.sts = {
      async verify(call) {
        const start = performance.now();
        try {
          return await sts.verify(call);
        } finally {
          spans.push({ name: 'sts:GetCallerIdentity', start, end: performance.now() });
        }
      },
    };
    const bare = new HttpStsVerifier({ timeoutMs: config.STS_TIMEOUT_MS });
    const stsClient = new STSClient(aws);
    const sign = (credentials: AwsCredentials, taskArn: string, signingDate = new Date()) =>
      buildExchangeRequest({ credentials, region: 'us-east-1', stsUrl: `${moto.endpoint}/`, serverId: AUDIENCE, signingDate, taskArn });
    const stsCallOf = (body: string): StsCall => {
      const v = validateExchangeRequest(body, { audience: AUDIENCE, now: new Date(), maxAgeSeconds: 300, maxSkewSeconds: 60, localStsEndpoint: moto.endpoint }, digest);
      if (!v.ok) throw new Error(`bench request invalid: ${v.reason}`);
      return v.value.sts;
    };

    // (a) Warm exchanges, each against a bare GetCallerIdentity right after it.
    const WARMUP = 3;
    const taskArns: string[] = [];
    while (taskArns.length < EXCHANGES + WARMUP) {
      const out = await clients.ecs.send(new RunTaskCommand({ cluster: 'bench', taskDefinition: def, count: Math.min(10, EXCHANGES + WARMUP - taskArns.length), launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }));
      taskArns.push(...out.tasks!.map((t) => t.taskArn!));
    }
    const records = new DynamoDbEnrollmentStore(clients.dynamo, stack.enrollmentTable);
    const writeMs: number[] = [];
    const exchangeMs: number[] = [];
    const bareMs: number[] = [];
    const ratios: number[] = [];
    const series: number[] = [];
    const callCounts: number[] = [];
    const byCall = new Map<string, number>();
    const callMs = new Map<string, number[]>();
    for (const [i, taskArn] of taskArns.entries()) {
      const c = (await stsClient.send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: taskArn.split('/').pop()! }))).Credentials!;
      const creds = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
      const body = JSON.stringify(await sign(creds, taskArn));
      const bareCall = stsCallOf(JSON.stringify(await sign(creds, taskArn, new Date(Date.now() - 1000))));
      spans.length = 0;
      const t0 = performance.now();
      const outcome = await exchangeToken({ body, sourceIp: `10.0.${i >> 8}.${i & 255}` }, deps, new Date());
      const t1 = performance.now();
      if (!outcome.ok) throw new Error(`bench exchange refused: ${outcome.reason} ${outcome.detail}`);
      const calls = [...spans];
      const b0 = performance.now();
      await bare.verify(bareCall);
      const b1 = performance.now();
      // The record write alone (the floor's second round trip), on a task of its own.
      const w0 = performance.now();
      await records.attachToken({ taskId: `floor${i}`, taskArn: `${taskArn}floor`, clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/bench', clusterName: 'bench' }, { jti: randomUUID(), issuedAt: '', expiresAt: '', kid: '' }, new Date());
      const w1 = performance.now();
      if (i < WARMUP) continue;
      writeMs.push(w1 - w0);
      exchangeMs.push(t1 - t0);
      bareMs.push(b1 - b0);
      ratios.push((t1 - t0) / (b1 - b0));
      series.push(callsInSeries(calls));
      callCounts.push(calls.length);
      for (const s of calls) {
        byCall.set(s.name, (byCall.get(s.name) ?? 0) + 1);
        callMs.set(s.name, [...(callMs.get(s.name) ?? []), s.end - s.start]);
      }
    }
    const ratio = median(ratios);
    // The issue's floor: STS, then the token's record write, each measured bare in this run.
    const floor = (median(bareMs) + median(writeMs)) / median(bareMs);
    const inSeries = median(series);
    const perExchange = [...byCall].map(([k, v]) => `${k}=${(v / EXCHANGES).toFixed(2)}`).join(' ');
    console.error(`call medians: ${[...callMs].map(([k, v]) => `${k} ${median(v).toFixed(1)} ms`).join(', ')}`);
    console.error(`exchange: median ${median(exchangeMs).toFixed(1)} ms, bare STS ${median(bareMs).toFixed(1)} ms, ratio ${ratio.toFixed(2)}, ${inSeries} calls in series of ${median(callCounts)} (${perExchange})`);

    // (b) and (c): a fleet behind one address, then a flood of bad signatures from one address.
    const fleet = await simulateFleet(deps, role.RoleId!, role.Arn!, taskArns[0]!, sign);
    const flood = await simulateFlood(deps, sign);
    console.error(`fleet: ${fleet.onboarded}/${FLEET} onboarded in ${(fleet.simulatedMs / 1000).toFixed(1)} s simulated, ${fleet.requests} requests; flood: ${flood.reachedSts}/${FLOOD} bad signatures reached STS in one minute`);

    const fleetSeconds = fleet.simulatedMs / 1000;
    const fleetMeets = fleet.onboarded === FLEET && fleetSeconds <= 60;
    return [
      {
        measure: 'exchange, warm, vs one bare STS GetCallerIdentity in the same run',
        now: `${ratio.toFixed(1)}× (${inSeries} calls in series)`,
        goal: 'floor: 2 sequential round trips; goal ≤ 2.5×',
        meets: ratio <= 2.5,
        ...(ratio <= 2.5 ? {} : { reason: `on moto the floor itself is ${floor.toFixed(1)}× (bare STS ${median(bareMs).toFixed(1)} ms + bare record write ${median(writeMs).toFixed(1)} ms); ${inSeries} calls in series: ${perExchange}` }),
        data: { exchanges: EXCHANGES, medianRatio: ratio, floorRatio: floor, medianRecordWriteMs: median(writeMs), medianExchangeMs: median(exchangeMs), medianBareStsMs: median(bareMs), callsInSeries: inSeries, callsPerExchange: Object.fromEntries([...byCall].map(([k, v]) => [k, v / EXCHANGES])) },
      },
      {
        measure: `per-source exchange limit: ${FLEET} tasks behind one address, arriving over 1 min`,
        now: fleet.onboarded === FLEET ? `all onboard in ${fleetSeconds.toFixed(0)} s` : `${fleet.onboarded} in ${HORIZON_MINUTES} min: all need ≥ ${fleet.minutesForAll.toFixed(0)} min`,
        goal: 'all onboard in ≤ 60 s',
        meets: fleetMeets,
        ...(fleetMeets ? {} : { reason: `${fleet.refusedRateLimited} refusals RATE_LIMITED; ${fleet.perMinute} onboard a minute` }),
        data: { ...fleet },
      },
      {
        measure: `unauthenticated abuse: ${FLOOD} bad signatures from one address in 1 min`,
        now: `${flood.reachedSts} reach STS`,
        goal: `bounded: ≤ EXCHANGE_RATE_PER_SOURCE (${config.EXCHANGE_RATE_PER_SOURCE}) a minute`,
        meets: flood.reachedSts <= config.EXCHANGE_RATE_PER_SOURCE,
        ...(flood.reachedSts <= config.EXCHANGE_RATE_PER_SOURCE ? {} : { reason: 'more bad signatures reached STS than the per-source limit' }),
        data: { ...flood, limit: config.EXCHANGE_RATE_PER_SOURCE },
      },
    ];
  } finally {
    rmSync(meshDir, { recursive: true, force: true });
    await moto.stop();
  }
}

type Sign = (credentials: AwsCredentials, taskArn: string, signingDate?: Date) => Promise<unknown>;
const HORIZON_MINUTES = 5; // beyond it, the rate measured tells the rest
const RATE = 50; // API Gateway's exchangeThrottleRate: the stage admits no more a second.

/** STS and ECS stand-ins for thousands of sessions: an access key id names its task. */
function standIns(deps: ExchangeDeps, roleId: string, roleArn: string, template: EcsTaskDescription, sessions: Map<string, string>) {
  let stsCalls = 0;
  const assumed = roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/');
  const sts = {
    async verify(call: StsCall): Promise<CallerIdentity> {
      stsCalls++;
      const key = /Credential=([^/]+)\//.exec(call.headers.authorization ?? '')?.[1] ?? '';
      const taskId = sessions.get(key);
      if (!taskId) throw new StsRejectedError('SignatureDoesNotMatch');
      return { arn: `${assumed}/${taskId}`, userId: `${roleId}:${taskId}`, account: ACCOUNT };
    },
  };
  const tasks = {
    describeTasks: async (_cluster: string, arns: string[]) => new Map(arns.map((arn) => [arn.split('/').pop()!, { ...template, taskArn: arn }])),
    describeTaskDefinition: (arn: string) => deps.tasks.describeTaskDefinition(arn),
  };
  return { deps: { ...deps, sts, tasks }, stsCalls: () => stsCalls };
}

async function simulateFleet(deps: ExchangeDeps, roleId: string, roleArn: string, realTask: string, sign: Sign) {
  const template = (await deps.tasks.describeTasks(`arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/bench`, [realTask])).get(realTask.split('/').pop()!)!;
  const sessions = new Map<string, string>();
  const fleet = standIns(deps, roleId, roleArn, template, sessions);
  const start = Math.ceil(Date.now() / 60_000) * 60_000 + 3_600_000; // a fresh window, an hour ahead
  // Each task's next attempt, in simulated ms; agents wait Retry-After after RATE_LIMITED.
  const due: Array<{ at: number; taskArn: string; creds: AwsCredentials }> = [];
  for (let i = 0; i < FLEET; i++) {
    const taskId = randomUUID().replace(/-/g, '');
    const accessKeyId = `ASIA${taskId.slice(0, 16).toUpperCase()}`;
    sessions.set(accessKeyId, taskId);
    due.push({ at: start + Math.floor((i * 1000) / RATE), taskArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task/bench/${taskId}`, creds: { accessKeyId, secretAccessKey: 'x', sessionToken: 't' } });
  }
  const horizon = start + HORIZON_MINUTES * 60_000;
  let onboarded = 0;
  let requests = 0;
  let refusedRateLimited = 0;
  let allBy = 0;
  while (due.length > 0) {
    due.sort((a, b) => a.at - b.at);
    const next = due.shift()!;
    if (next.at > horizon) {
      due.push(next);
      break;
    }
    requests++;
    const now = new Date(next.at);
    const body = JSON.stringify(await sign(next.creds, next.taskArn, now));
    const outcome = await exchangeToken({ body, sourceIp: '198.51.100.7' }, fleet.deps, now);
    if (outcome.ok) {
      onboarded++;
      allBy = next.at - start;
    } else if (outcome.reason === 'RATE_LIMITED') {
      refusedRateLimited++;
      due.push({ ...next, at: next.at + (outcome.retryAfterSeconds ?? 60) * 1000 });
    } else throw new Error(`fleet exchange refused: ${outcome.reason} ${outcome.detail}`);
  }
  const simulatedMs = onboarded === FLEET ? allBy : horizon - start;
  const perMinute = Math.round(onboarded / Math.max(1, simulatedMs / 60_000));
  return { tasks: FLEET, onboarded, requests, refusedRateLimited, simulatedMs, perMinute, minutesForAll: onboarded === FLEET ? simulatedMs / 60_000 : FLEET / perMinute, stsCalls: fleet.stsCalls() };
}

async function simulateFlood(deps: ExchangeDeps, sign: Sign) {
  const flood = standIns(deps, 'AROAUNUSED', 'arn:aws:iam::123456789012:role/none', {} as EcsTaskDescription, new Map());
  const start = Math.ceil(Date.now() / 60_000) * 60_000 + 7_200_000; // a fresh window, two hours ahead
  const reasons: Record<string, number> = {};
  for (let i = 0; i < FLOOD; i++) {
    const now = new Date(start + Math.floor((i * 59_000) / FLOOD));
    const taskArn = `arn:aws:ecs:us-east-1:${ACCOUNT}:task/bench/${randomUUID().replace(/-/g, '')}`;
    const body = JSON.stringify(await sign({ accessKeyId: `AKIA${String(i).padStart(16, '0')}`, secretAccessKey: 'made-up' }, taskArn, now));
    const outcome = await exchangeToken({ body, sourceIp: '203.0.113.9' }, flood.deps, now);
    const reason = outcome.ok ? 'ISSUED' : outcome.reason;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  }
  return { requests: FLOOD, reachedSts: flood.stsCalls(), reasons };
}
