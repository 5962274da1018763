// The limits on proven callers (issue 18), against moto: a caller STS has proven to be a role of an
// allowed account, but which is not the running task it names, costs a DescribeTasks against the
// account's shared Describe* quota (which task-events and the reconciler need). Its refusals count
// per role (whatever session it names) and per account; past either limit it gets 429 before ECS
// is asked, while the account's other roles still onboard below the account's limit.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsCredentials } from '../../cli/agent/credentials.js';
import { aPolicy } from '../fixtures/builders.js';
import { startExchange, type ExchangeHarness } from '../support/exchange-harness.js';
import { Pipeline } from '../support/pipeline.js';

const PER_ROLE = 3;
const PER_ACCOUNT = 7;
const SOURCE = '198.51.100.40';
let p: Pipeline;
let x: ExchangeHarness;
let ratingsRole: string;
let taskDef: string;
const taskId = (arn: string) => arn.split('/').pop()!;

/** Sessions of `roleArn` named like tasks (ECS names task-role sessions so) that ECS never ran. */
async function impostors(roleArn: string, count: number): Promise<Array<{ taskArn: string; creds: AwsCredentials }>> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const id = randomUUID().replaceAll('-', '');
      return { taskArn: `arn:aws:ecs:us-east-1:123456789012:task/prod/${id}`, creds: await x.assumeTaskRole(roleArn, id) };
    }),
  );
}

async function runningTask(): Promise<{ taskArn: string; creds: AwsCredentials }> {
  const [taskArn] = await p.runTask('prod', taskDef);
  return { taskArn: taskArn!, creds: await x.assumeTaskRole(ratingsRole, taskId(taskArn!)) };
}

/** Sends each exchange in turn, signed at the test's fixed time. */
async function exchangeEach(callers: Array<{ taskArn: string; creds: AwsCredentials }>, now: Date) {
  const answers = [];
  for (const { taskArn, creds } of callers) answers.push(await x.exchange(await x.sign(creds, taskArn, { signingDate: now }), SOURCE));
  return answers;
}

beforeAll(async () => {
  p = await Pipeline.start('-auth-callers');
  await p.createCluster('prod');
  ratingsRole = await p.createRole('ratings-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
  taskDef = await p.registerTaskDefinition('ratings', { roleArn: ratingsRole });
  await p.putPolicy(aPolicy());
  p.k8s.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'ratings', namespace: 'bookinfo', labels: { app: 'ratings' } }, spec: { template: { serviceAccount: 'bookinfo-ratings' } } });
  x = await startExchange(p, { EXCHANGE_RATE_PER_ROLE: String(PER_ROLE), EXCHANGE_RATE_PER_ACCOUNT: String(PER_ACCOUNT) });
});

afterAll(() => p.stop());

describe('refusals of proven callers count per role and per account', () => {
  it('answers one role 429 past its limit, whatever session it names, without asking ECS', async () => {
    await x.atFreshMinute(async (now) => {
      const callers = await impostors(await p.createRole('intruder', {}), PER_ROLE + 3);
      const legit = await runningTask();
      const described = p.callCount('ecs:DescribeTasks');

      const answers = await exchangeEach(callers, now);
      const describedForImpostors = p.callCount('ecs:DescribeTasks') - described;
      const [onboarded] = await exchangeEach([legit], now);

      expect(answers.map((a) => a.json.reason)).toEqual([...Array(PER_ROLE).fill('TASK_NOT_RUNNING'), ...Array(3).fill('RATE_LIMITED')]);
      expect(answers.at(-1)).toMatchObject({ status: 429, headers: { 'retry-after': '60' } });
      expect(describedForImpostors).toBe(PER_ROLE);
      // The account's other roles are not shut out by one role's failures.
      expect(onboarded!.status).toBe(200);
      expect((await p.record(legit.taskArn))?.onboardingToken).toBeDefined();
    });
  });

  it('counts a role’s sessions that name another running task too', async () => {
    await x.atFreshMinute(async (now) => {
      const intruder = await p.createRole('intruder-named', {});
      const { taskArn } = await runningTask();
      const callers = await Promise.all(Array.from({ length: PER_ROLE + 1 }, async (_, i) => ({ taskArn, creds: await x.assumeTaskRole(intruder, `not-the-task-${i}`) })));
      const described = p.callCount('ecs:DescribeTasks');

      const answers = await exchangeEach(callers, now);

      expect(answers.map((a) => a.json.reason)).toEqual([...Array(PER_ROLE).fill('SESSION_MISMATCH'), 'RATE_LIMITED']);
      expect(p.callCount('ecs:DescribeTasks') - described).toBe(PER_ROLE);
    });
  });

  it('does not count a real running task’s policy refusals', async () => {
    await x.atFreshMinute(async (now) => {
      const untagged = await p.createRole('untagged-task', {});
      const [taskArn] = await p.runTask('prod', await p.registerTaskDefinition('untagged', { roleArn: untagged }));
      const creds = await x.assumeTaskRole(untagged, taskId(taskArn!));

      // Signed a second apart, so each is a signature of its own.
      const answers = [];
      for (let i = 0; i < PER_ROLE + 2; i++) answers.push(await x.exchange(await x.sign(creds, taskArn!, { signingDate: new Date(now.getTime() - i * 1000) }), SOURCE));

      expect(answers.map((a) => a.json.reason)).toEqual(Array(PER_ROLE + 2).fill('TAG_MISSING'));
    });
  });

  it('answers the whole account 429 past its limit across several roles, before STS and ECS', async () => {
    await x.atFreshMinute(async (now) => {
      const [a, b, c, d] = await Promise.all(['intruder-a', 'intruder-b', 'intruder-c', 'intruder-d'].map((name) => p.createRole(name, {})));
      const [fromA, fromB, fromC, fromD] = await Promise.all([impostors(a!, PER_ROLE), impostors(b!, PER_ROLE), impostors(c!, 1), impostors(d!, 2)]);
      const [early, late] = [await runningTask(), await runningTask()];
      const [described, stsCalls] = [p.callCount('ecs:DescribeTasks'), x.stsCalls.length];

      // Six failures, under the account's seven: another role's task still onboards.
      const underLimit = await exchangeEach([...fromA!, ...fromB!], now);
      const [onboarded] = await exchangeEach([early], now);
      const [seventh] = await exchangeEach(fromC!, now);
      const [stsBefore, describedBefore] = [x.stsCalls.length, p.callCount('ecs:DescribeTasks')];
      const overLimit = await exchangeEach([...fromD!, late], now);

      expect(underLimit.map((r) => r.json.reason)).toEqual(Array(2 * PER_ROLE).fill('TASK_NOT_RUNNING'));
      expect(onboarded!.status).toBe(200);
      expect(seventh!.json.reason).toBe('TASK_NOT_RUNNING');
      // Past the account's limit every caller of the account waits for the next minute, a role
      // that never failed and a real task alike: no STS call, no DescribeTasks.
      expect(overLimit.map((r) => [r.status, r.json.reason])).toEqual(Array(3).fill([429, 'RATE_LIMITED']));
      expect([x.stsCalls.length - stsBefore, p.callCount('ecs:DescribeTasks') - describedBefore]).toEqual([0, 0]);
      expect([stsBefore - stsCalls, describedBefore - described]).toEqual([PER_ACCOUNT + 1, PER_ACCOUNT + 1]);
    });
  });
});
