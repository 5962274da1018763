// The exchange's limits as issue 13 reshaped them, against moto: the per-source limit counts failed
// verifications only, the replay claim and the source's count share one round trip before STS,
// and STS runs alongside DescribeTasks without the latter deciding or changing anything before
// STS has proven the caller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentials } from '../../cli/agent/credentials.js';
import { StsRejectedError } from '../../shared/errors.js';
import { aPolicy } from '../fixtures/builders.js';
import { startExchange, type ExchangeHarness } from '../support/exchange-harness.js';
import { Pipeline } from '../support/pipeline.js';

const PER_SOURCE = 5;
let p: Pipeline;
let x: ExchangeHarness;
let role: string;
let taskDef: string;
const taskId = (arn: string) => arn.split('/').pop()!;
// moto checks no signature: a made-up key comes back as a principal that is no task role
// (PRINCIPAL_TYPE), which fails verification just as STS's refusal of a bad signature does.
const madeUp = (i: number): AwsCredentials => ({ accessKeyId: `AKIAMADEUP${String(i).padStart(10, '0')}`, secretAccessKey: `not-a-secret-${i}` });

async function runningTasks(count: number): Promise<Array<{ taskArn: string; creds: AwsCredentials }>> {
  const arns = await p.runTask('prod', taskDef, { count });
  return Promise.all(arns.map(async (taskArn) => ({ taskArn, creds: await x.assumeTaskRole(role, taskId(taskArn)) })));
}

const authItems = async (prefix: string) =>
  ((await p.clients.dynamo.send(new ScanCommand({ TableName: p.stack.authTable }))).Items ?? []).filter((i) => String(i.key).startsWith(prefix));

beforeAll(async () => {
  p = await Pipeline.start('-auth-limits');
  await p.createCluster('prod');
  role = await p.createRole('ratings-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
  taskDef = await p.registerTaskDefinition('ratings', { roleArn: role });
  await p.putPolicy(aPolicy());
  p.k8s.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'ratings', namespace: 'bookinfo', labels: { app: 'ratings' } }, spec: { template: { serviceAccount: 'bookinfo-ratings' } } });
  x = await startExchange(p, { EXCHANGE_RATE_PER_SOURCE: String(PER_SOURCE) });
});

afterAll(() => p.stop());

describe('the per-source limit counts failed verifications, not exchanges', () => {
  it('onboards a fleet behind one address that outnumbers the limit several times over', async () => {
    const fleet = await runningTasks(PER_SOURCE * 3);
    await x.atFreshMinute(async () => {
      const answers = await Promise.all(fleet.map(async ({ taskArn, creds }) => x.exchange(await x.sign(creds, taskArn), '198.51.100.1')));

      expect(answers.map((a) => a.status)).toEqual(fleet.map(() => 200));
      for (const { taskArn } of fleet) expect((await p.record(taskArn))?.onboardingToken).toBeDefined();
      // Successes leave the address's failure count alone.
      expect(await authItems('fail#source#198.51.100.1#')).toEqual([]);
    });
  });

  it('cuts a flood of bad signatures from one address off before STS, and only that address', async () => {
    const [victim] = await runningTasks(1);
    await x.atFreshMinute(async (now) => {
      const before = x.stsCalls.length;

      const answers = [];
      for (let i = 0; i < PER_SOURCE + 7; i++) answers.push(await x.exchange(await x.sign(madeUp(i), victim!.taskArn), '203.0.113.66'));

      expect(answers.map((a) => a.json.reason)).toEqual([...Array(PER_SOURCE).fill('PRINCIPAL_TYPE'), ...Array(7).fill('RATE_LIMITED')]);
      expect(x.stsCalls.length - before).toBe(PER_SOURCE);
      expect(answers.at(-1)).toMatchObject({ status: 429, headers: { 'retry-after': '60' } });
      // The address is shut out whoever signs; any other address is not.
      // Two signatures a whole second apart (SigV4 dates are in seconds), however slow the machine.
      const fromFlooded = await x.exchange(await x.sign(victim!.creds, victim!.taskArn, { signingDate: now }), '203.0.113.66');
      const fromElsewhere = await x.exchange(await x.sign(victim!.creds, victim!.taskArn, { signingDate: new Date(now.getTime() - 1000) }), '203.0.113.67');
      expect([fromFlooded.json.reason, fromElsewhere.status]).toEqual(['RATE_LIMITED', 200]);
      expect(x.stsCalls.length - before).toBe(PER_SOURCE + 1);
    });
  });

  it('counts malformed requests and replays as failures too', async () => {
    const [task] = await runningTasks(1);
    await x.atFreshMinute(async () => {
      const body = await x.sign(task!.creds, task!.taskArn);
      const issued = await x.exchange(body, '203.0.113.80');

      const refusals = [];
      for (let i = 0; i < 2; i++) refusals.push(await x.exchange(body, '203.0.113.80'));
      for (let i = 0; i < PER_SOURCE - 2; i++) refusals.push(await x.exchange('{"not": "an exchange"}', '203.0.113.80'));
      const cutOff = await x.exchange(await x.sign(madeUp(99), task!.taskArn), '203.0.113.80');

      expect(issued.status).toBe(200);
      expect(refusals.map((r) => r.json.reason)).toEqual(['REPLAY', 'REPLAY', ...Array(PER_SOURCE - 2).fill('MALFORMED_REQUEST')]);
      expect(cutOff.json.reason).toBe('RATE_LIMITED');
    });
  });
});

describe('replay refusal with the claim and the source read in one round trip', () => {
  it('issues one token for a signature presented twice at once, and calls STS once', async () => {
    const [task] = await runningTasks(1);
    const body = await x.sign(task!.creds, task!.taskArn);
    const before = x.stsCalls.length;

    const answers = await Promise.all([x.exchange(body, '192.0.2.10'), x.exchange(body, '192.0.2.11')]);

    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.status === 409)?.json.reason).toBe('REPLAY');
    expect(x.stsCalls.length - before).toBe(1);
  });
});

describe('STS alongside DescribeTasks', () => {
  /** STS refusing a signature, which moto never does: an in-process stand-in for that fault. */
  async function withStsRefusing<T>(run: () => Promise<T>): Promise<T> {
    const real = x.deps.sts;
    x.deps.sts = { verify: (call) => (x.stsCalls.push(call.url), Promise.reject(new StsRejectedError('SignatureDoesNotMatch'))) };
    try {
      return await run();
    } finally {
      x.deps.sts = real;
    }
  }
  const stateOf = async (taskArn: string) => ({ record: await p.record(taskArn), counters: (await authItems('rate#task#')).filter((i) => String(i.key).includes(taskId(taskArn))) });

  it.each([
    ['STS refuses the signature', 'STS_REJECTED', (t: { taskArn: string; creds: AwsCredentials }) => withStsRefusing(async () => x.exchange(await x.sign(t.creds, t.taskArn), '192.0.2.20'))],
    ['STS proves a caller that is no task role', 'PRINCIPAL_TYPE', async (t: { taskArn: string }) => x.exchange(await x.sign(madeUp(1000), t.taskArn), '192.0.2.20')],
  ] as const)('changes no state when %s, though ECS was asked about the real task meanwhile', async (_case, reason, send) => {
    const [task] = await runningTasks(1);
    const described = p.calls.get('ecs:DescribeTasks') ?? 0;

    const res = await send(task!);

    expect(res.json.reason).toBe(reason);
    expect(p.calls.get('ecs:DescribeTasks') ?? 0).toBe(described + 1);
    expect(await stateOf(task!.taskArn)).toEqual({ record: undefined, counters: [] });
  });

  it('answers STS’s refusal, not a failure, when DescribeTasks fails at the same time', async () => {
    const [task] = await runningTasks(1);
    const real = x.deps.tasks;
    // moto cannot make DescribeTasks fail on demand: an in-process fault stands in for it.
    x.deps.tasks = { describeTasks: () => Promise.reject(new Error('ECS is down')), describeTaskDefinition: (arn) => real.describeTaskDefinition(arn) };
    try {
      // Two signatures a whole second apart (SigV4 dates are in seconds), however slow the machine.
      const signedAt = new Date();
      const refused = await withStsRefusing(async () => x.exchange(await x.sign(task!.creds, task!.taskArn, { signingDate: signedAt }), '192.0.2.21'));
      const afterRefusal = await stateOf(task!.taskArn);
      const proven = await x.exchange(await x.sign(task!.creds, task!.taskArn, { signingDate: new Date(signedAt.getTime() - 1000) }), '192.0.2.21');

      expect(refused).toMatchObject({ status: 401, json: { reason: 'STS_REJECTED' } });
      expect(afterRefusal).toEqual({ record: undefined, counters: [] });
      // Once STS has proven the caller, ECS's failure is the exchange's own (500): the session has
      // spent one of its budget, and no token is recorded.
      expect(proven.status).toBe(500);
      expect(await stateOf(task!.taskArn)).toMatchObject({ record: undefined, counters: [{ count: 1 }] });
    } finally {
      x.deps.tasks = real;
    }
  });

  it.each([
    ['region', (arn: string) => arn.replace(':us-east-1:', ':eu-west-1:'), 'TASK_ARN_MISMATCH'],
    ['partition', (arn: string) => arn.replace('arn:aws:', 'arn:aws-cn:'), 'ACCOUNT_NOT_ALLOWED'],
  ] as const)('asks ECS nothing for a task ARN in another %s', async (_field, elsewhere, reason) => {
    const [task] = await runningTasks(1);
    const described = p.calls.get('ecs:DescribeTasks') ?? 0;

    const res = await x.exchange(await x.sign(task!.creds, elsewhere(task!.taskArn)), '192.0.2.22');

    expect(res.json.reason).toBe(reason);
    expect(p.calls.get('ecs:DescribeTasks') ?? 0).toBe(described);
  });
});
