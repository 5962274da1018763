/**
 * The exchange's checks after parsing (shared/app/exchange-token.ts) on in-memory ports with a
 * manual clock: what each refusal costs (STS, ECS, the counters it bumps, whom it is charged to)
 * and the limits per source, role and account, window by window. Each hostile request lives once:
 * parsing's refusals are test/unit/exchange-request.test.ts's; those that need STS's real answer
 * (a user, another account's role, a deleted role, a stopped task, a replay claimed in DynamoDB,
 * the per-task counter, labels, ecsClusters) are test/integration/auth-exchange*.test.ts's.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { exchangeToken } from '../../shared/app/exchange-token.js';
import { EXCHANGE_REASONS } from '../../shared/core/reasons.js';
import { StsRejectedError, StsUnavailableError, UpstreamThrottledError } from '../../shared/errors.js';
import { ACCOUNT } from '../fixtures/builders.js';
import { TASK_ID, signedExchangeBody, type SignOptions } from '../fixtures/signed-exchange.js';
import { ROLE, ROLE_ARN, appWorld, aRunningTask, type AppWorld } from '../support/app-world.js';

const SOURCE = '10.1.2.3';
let world: AppWorld;
let signatures: number;

beforeEach(() => {
  world = appWorld();
  signatures = 0;
});

/** A fresh signature each time (signed one more second before now, well within maxAgeSeconds). */
async function exchange(options: SignOptions & { source?: string } = {}) {
  const { source = SOURCE, ...sign } = options;
  const body = await signedExchangeBody({ signingDate: new Date(world.clock.now().getTime() - ++signatures * 1000), ...sign });
  return exchangeToken({ body, sourceIp: source }, world.exchange, world.clock.now());
}

const withWire = (fields: Record<string, unknown>): SignOptions => ({ wire: (wire) => Object.assign(wire, fields) });
const counter = (prefix: string) => [...world.guard.counters].filter(([key]) => key.startsWith(prefix)).reduce((sum, [, n]) => sum + n, 0);

describe('exchangeToken', () => {
  it('issues a token for the task it proves, and records it on the task', async () => {
    const outcome = await exchange();

    expect(outcome).toMatchObject({ ok: true, body: { workloadGroup: 'bookinfo/ratings', workloadEntry: { namespace: 'bookinfo', name: `ratings-${TASK_ID}` }, profile: 'istio' } });
    expect(world.enrollments.records.get(TASK_ID)?.onboardingToken).toMatchObject({ jti: 'jti-1', kid: 'kid-1' });
    expect(counter('fail#')).toBe(0);
    expect(world.log.lines.find((l) => l.message === 'auth exchange')?.extra).toMatchObject({ decision: 'issued', reason: 'ISSUED', roleArn: ROLE_ARN });
  });

  describe('before STS', () => {
    it('refuses a malformed request without asking STS, and counts it against its source', async () => {
      const outcome = await exchangeToken({ body: '{"iam_http_request_method":', sourceIp: SOURCE }, world.exchange, world.clock.now());

      expect(outcome).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.MALFORMED_REQUEST });
      expect(world.sts.calls).toBe(0);
      expect(counter(`fail#source#${SOURCE}#`)).toBe(1);
    });

    it('cuts a source off before STS at ratePerSource failures in a window, and lets it in again the next window', async () => {
      world.exchange.settings.ratePerSource = 3;
      world.sts.failure = new StsRejectedError('SignatureDoesNotMatch');
      for (let i = 0; i < 3; i++) expect(await exchange()).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.STS_REJECTED });

      const limited = await exchange();
      // Another address behind no failures is not held up.
      const other = await exchange({ source: '10.7.7.7' });

      expect(limited).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.RATE_LIMITED, retryAfterSeconds: 60 });
      expect(other).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.STS_REJECTED });
      expect(world.sts.calls).toBe(4);

      world.sts.failure = undefined;
      world.clock.advance(60);
      expect(await exchange()).toMatchObject({ ok: true });
    });
  });

  describe("STS's answer", () => {
    it.each([
      { name: 'rejected', failure: new StsRejectedError('SignatureDoesNotMatch'), reason: EXCHANGE_REASONS.STS_REJECTED, counted: 1, retryAfterSeconds: undefined },
      { name: 'throttled', failure: new UpstreamThrottledError('sts:GetCallerIdentity throttled'), reason: EXCHANGE_REASONS.STS_THROTTLED, counted: 0, retryAfterSeconds: 5 },
      { name: 'unreachable', failure: new StsUnavailableError('connect ECONNREFUSED'), reason: EXCHANGE_REASONS.STS_UNAVAILABLE, counted: 0, retryAfterSeconds: undefined },
    ])('STS $name: $reason, counted against the source only when the caller is at fault', async ({ failure, reason, counted, retryAfterSeconds }) => {
      world.sts.failure = failure;

      const outcome = await exchange();

      expect(outcome).toEqual({ ok: false, reason, detail: expect.any(String), ...(retryAfterSeconds ? { retryAfterSeconds } : {}) });
      expect(counter(`fail#source#${SOURCE}#`)).toBe(counted);
    });

    it.each([
      { name: 'not an assumed role', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, account: 0 },
      { name: "a role of another account than the task's", arn: `arn:aws:sts::210987654321:assumed-role/ratings-task/${TASK_ID}`, account: 0 },
      { name: "a role of the task's account in another task's session", arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ratings-task/fedcba9876543210fedcba9876543210`, account: 2 },
    ])('charges a caller refused as $name to its source, and to its role and account only when it is a role of that account', async ({ arn, account }) => {
      world.sts.identity = { ...world.sts.identity, arn };

      expect((await exchange()).ok).toBe(false);
      expect([counter(`fail#source#${SOURCE}#`), counter(`fail#account#${ACCOUNT}#`)]).toEqual([1, account]);
      expect(world.signed).toEqual([]);
    });

    it('refuses an allowed account this deployment cannot read (ACCOUNT_NOT_ALLOWED) without asking ECS', async () => {
      world.exchange.settings.unreadableAccounts = [ACCOUNT];

      expect(await exchange()).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.ACCOUNT_NOT_ALLOWED });
      expect(world.ecs.describeCalls).toEqual([]);
    });

    it("refuses a task of another region than the deployment's (TASK_ARN_MISMATCH) without asking ECS", async () => {
      world.exchange.settings.region = 'us-west-2';

      expect(await exchange({ url: 'https://sts.us-west-2.amazonaws.com/' })).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.TASK_ARN_MISMATCH });
      expect(world.ecs.describeCalls).toEqual([]);
    });
  });

  describe('the proven caller against IAM, ECS and the decision', () => {
    it('refuses a role recreated under the same name (ROLE_MISMATCH), counted against the role and its account', async () => {
      world.roles.roles.set(ROLE_ARN, { ...ROLE, roleId: 'AROARECREATED000000001' });

      expect(await exchange()).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.ROLE_MISMATCH });
      expect(counter(`fail#account#${ACCOUNT}#`)).toBe(2); // the account's count and its role's
      expect(counter(`fail#source#`)).toBe(0);
    });

    it.each([
      { name: 'ECS does not know the task', change: (w: AppWorld) => w.ecs.tasks.clear() },
      { name: 'the task is tombstoned when its token is recorded', change: (w: AppWorld) => w.enrollments.records.set(TASK_ID, { ...aRunningTask(), taskId: TASK_ID, clusterName: 'prod', version: 9, phase: 'deregistered', reason: 'TASK_STOPPED', detail: '', updatedAt: w.clock.now().toISOString() }) },
    ])('TASK_NOT_RUNNING when $name', async ({ change }) => {
      change(world);

      expect(await exchange()).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.TASK_NOT_RUNNING });
    });

    it('charges a proven caller whose task runs with another role (TASK_ROLE_MISMATCH) to its role and account', async () => {
      const other = { ...ROLE, arn: `arn:aws:iam::${ACCOUNT}:role/reviews-task`, name: 'reviews-task', roleId: 'AROAOTHERROLE000000001' };
      world.roles.roles.set(other.arn, other);
      world.ecs.put(aRunningTask(TASK_ID, { overrideTaskRoleArn: other.arn }));

      expect(await exchange()).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.TASK_ROLE_MISMATCH });
      expect(counter(`fail#account#${ACCOUNT}#`)).toBe(2);
    });

    it('refuses a requested group that is not the task’s (POLICY_DENIED), and uses one only where no tag names a group', async () => {
      expect(await exchange(withWire({ workloadGroup: 'bookinfo/reviews' }))).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.POLICY_DENIED });

      world.ecs.put(aRunningTask(TASK_ID, { tags: {} }));
      expect(await exchange()).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.TAG_MISSING });
      expect(await exchange(withWire({ workloadGroup: 'bookinfo/ratings' }))).toMatchObject({ ok: true, body: { workloadGroup: 'bookinfo/ratings' } });
    });
  });

  describe('limits on proven callers', () => {
    it('refuses a role at ratePerRole failures whatever session it names, before asking ECS, until the window turns', async () => {
      world.exchange.settings.ratePerRole = 2;
      world.sts.identity = { ...world.sts.identity, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ratings-task/fedcba9876543210fedcba9876543210` };
      for (let i = 0; i < 2; i++) expect(await exchange()).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.SESSION_MISMATCH });
      const describedBefore = world.ecs.describeCalls.length;

      world.sts.identity = { ...world.sts.identity, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ratings-task/${TASK_ID}` };
      const limited = await exchange();

      expect(limited).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.RATE_LIMITED, detail: expect.stringContaining('role') });
      expect(world.ecs.describeCalls.length).toBe(describedBefore);
      world.clock.advance(60);
      expect((await exchange()).ok).toBe(true);
    });

    it("refuses every caller of an account at ratePerAccount of its roles' failures, before STS", async () => {
      world.exchange.settings.ratePerAccount = 2;
      world.roles.roles.set(ROLE_ARN, { ...ROLE, roleId: 'AROARECREATED000000001' });
      for (let i = 0; i < 2; i++) expect(await exchange()).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.ROLE_MISMATCH });
      world.roles.roles.set(ROLE_ARN, ROLE);
      const stsCalls = world.sts.calls;

      expect(await exchange()).toMatchObject({ ok: false, reason: EXCHANGE_REASONS.RATE_LIMITED, detail: expect.stringContaining('account') });
      expect(world.sts.calls).toBe(stsCalls);
      world.clock.advance(60);
      expect((await exchange()).ok).toBe(true);
    });
  });
});
