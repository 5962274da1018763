/**
 * The auth exchange (docs/architecture.md#exchange): a sidecar proves its task's IAM identity with a signed
 * GetCallerIdentity and gets a per-task onboarding token. Cheap refusals come first (parsing, then
 * in one round trip the replay claim and the source's failed verifications) so no hostile client
 * spends the account's STS quota: a source is counted only when a request fails before its caller
 * is proven, so a fleet behind one NAT address onboards at once while a flood of bad signatures is
 * cut off before STS. A caller STS proves to be a role of the claimed task's account, but which is
 * not that running task, costs a DescribeTasks of the account's shared Describe* quota: its
 * failures count against its role (whatever session it names) and its account, read in the same
 * round trip, so past either limit it is refused before ECS is asked. The per-task limit counts
 * only callers STS has proven, so naming a task spends nothing of its own. On success the exchange
 * waits on the guard's round trip, then on STS followed by the per-task counter while DescribeTasks
 * runs alongside both (alongside the counter only, while a role of the account is at its limit),
 * then on the record.
 */
import { exchangeRefusal, type ExchangeRefusal } from '../core/exchange.js';
import { validateExchangeRequest } from '../core/exchange-request.js';
import { labelsAllowed, onboardingTokenClaims } from '../core/onboarding-token.js';
import { EXCHANGE_REASONS, REASONS, type ExchangeReason } from '../core/reasons.js';
import { clusterNamed } from '../core/task.js';
import { profileFor } from '../core/token-claims.js';
import { isHealthChecked, WORKLOAD_GROUP_TAG } from '../core/workload-entry.js';
import { StsRejectedError, UpstreamThrottledError } from '../errors.js';
import type { CallerIdentityVerifier, EnrollmentStore, ExchangeGuard, FailureSubject, Log, TokenSigners } from '../ports.js';
import { contextOfTask, decideEnrollment, type RefusalReason } from './decide-enrollment.js';
import type { DecisionDeps } from './deps.js';
import { checkCallerClaim, describableAccount, describeClaimedTask, verifyTaskCaller, type AccountScope } from './verify-task-caller.js';

/** `region` is the deployment's: the only one whose tasks the exchange describes. */
export interface ExchangeSettings extends AccountScope {
  audience: string;
  maxAgeSeconds: number;
  maxSkewSeconds: number;
  localStsEndpoint?: string;
  issuer: string;
  audiences: readonly string[];
  meshName: string;
  defaultProfile: 'istio' | 'kuma';
  lifetimeSeconds: number;
  ratePerTask: number;
  /** Failed verifications (requests refused before STS proved a task's session) per source a minute. */
  ratePerSource: number;
  /** Failures of callers STS proved to be roles of the claimed task's account, per role and per account a minute. */
  ratePerRole: number;
  ratePerAccount: number;
  /** ecsClusters: a task of any other cluster gets no token, as task-events never enrolls it. Empty: every cluster. */
  clusters?: readonly string[];
}

export interface ExchangeDeps extends DecisionDeps {
  sts: CallerIdentityVerifier;
  guard: ExchangeGuard;
  enrollments: Pick<EnrollmentStore, 'attachToken'>;
  signers: TokenSigners;
  log: Log;
  settings: ExchangeSettings;
  digest: (s: string) => string;
  newTokenId: () => string;
}

export interface ExchangeSuccess {
  token: string;
  tokenType: 'Bearer';
  expiresAt: string;
  issuedAt: string;
  kid: string;
  profile: string;
  workloadGroup: string;
  workloadEntry: { namespace: string; name: string };
  /**
   * The group's probe, present exactly when the entry is health-checked: istio-agent must run it
   * and report it for istiod to serve the entry (docs/onboard-a-service.md#health-checks).
   */
  readinessProbe?: Record<string, unknown>;
  mesh: string;
  issuer: string;
  jwksUrl: string;
}

export type ExchangeOutcome = { ok: true; body: ExchangeSuccess } | ExchangeRefusal;

const RATE_WINDOW_SECONDS = 60;

/** Runs one exchange and audits its decision; throws only for infrastructure failures. */
export async function exchangeToken(request: { body: string; sourceIp: string }, deps: ExchangeDeps, now: Date): Promise<ExchangeOutcome> {
  // What the audit line may name once it is known: never a signature or a token.
  const audit: Record<string, string> = {};
  const outcome = await decide(request, deps, now, audit);
  deps.log.info('auth exchange', {
    audit: 'auth-exchange',
    decision: outcome.ok ? 'issued' : 'refused',
    reason: outcome.ok ? 'ISSUED' : outcome.reason,
    ...(outcome.ok ? { workloadGroup: outcome.body.workloadGroup, expiresAt: outcome.body.expiresAt } : { detail: outcome.detail }),
    sourceIp: request.sourceIp,
    ...audit,
  });
  return outcome;
}

async function decide(request: { body: string; sourceIp: string }, deps: ExchangeDeps, now: Date, audit: Record<string, string>): Promise<ExchangeOutcome> {
  const { settings } = deps;
  // A request refused before its caller is proven counts against its source address; one refused
  // because a proven caller is not the task it names, against the caller's role and account.
  const failed = async (refusal: ExchangeRefusal, ...counted: Array<FailureSubject | undefined>): Promise<ExchangeOutcome> => {
    await Promise.all(counted.filter((subject) => subject !== undefined).map((subject) => deps.guard.countFailure(subject, RATE_WINDOW_SECONDS, now)));
    return refusal;
  };
  const source = { source: request.sourceIp };

  const validated = validateExchangeRequest(request.body, { audience: settings.audience, now, maxAgeSeconds: settings.maxAgeSeconds, maxSkewSeconds: settings.maxSkewSeconds, localStsEndpoint: settings.localStsEndpoint }, deps.digest);
  if (!validated.ok) return failed(validated, source);
  const exchange = validated.value;
  Object.assign(audit, { taskArn: exchange.taskArn, accessKeyId: exchange.accessKeyId });
  const keepUntil = new Date(exchange.signedAt.getTime() + (settings.maxAgeSeconds + settings.maxSkewSeconds) * 1000);
  // The account ECS would be asked about: its failures, and its roles', are read with the claim.
  const account = describableAccount(exchange, settings);
  const admitted = await deps.guard.admit(
    {
      replayKey: exchange.replayKey,
      keepUntil,
      source: request.sourceIp,
      failureLimit: settings.ratePerSource,
      windowSeconds: RATE_WINDOW_SECONDS,
      ...(account ? { account: { id: account, failureLimit: settings.ratePerAccount, roleFailureLimit: settings.ratePerRole } } : {}),
    },
    now,
  );
  if (admitted.verdict === 'source-limited') return exchangeRefusal(EXCHANGE_REASONS.RATE_LIMITED, 'too many failed exchanges from this address', RATE_WINDOW_SECONDS);
  if (admitted.verdict === 'replayed') return failed(exchangeRefusal(EXCHANGE_REASONS.REPLAY, 'this signed request was already used'), source);
  if (admitted.verdict === 'account-limited') return exchangeRefusal(EXCHANGE_REASONS.RATE_LIMITED, 'too many refused exchanges for this account’s callers', RATE_WINDOW_SECONDS);

  // ECS is asked while STS proves the caller; nothing reads its answer unless STS and the claim pass.
  // While a role of the account is at its limit, ECS waits until STS has named the caller's role,
  // so that role's requests cost no DescribeTasks.
  const describeEarly = admitted.limitedRoles.size === 0;
  const describingEarly = describeEarly ? settle(describeClaimedTask(exchange, settings, deps.tasks)) : undefined;
  let identity;
  try {
    identity = await deps.sts.verify(exchange.sts);
  } catch (error) {
    if (error instanceof StsRejectedError) return failed(exchangeRefusal(EXCHANGE_REASONS.STS_REJECTED, 'STS refused the signed request'), source);
    // STS's own trouble is not the caller's failure: it does not count against the source.
    if (error instanceof UpstreamThrottledError) return exchangeRefusal(EXCHANGE_REASONS.STS_THROTTLED, 'STS is throttling; retry later', 5);
    return exchangeRefusal(EXCHANGE_REASONS.STS_UNAVAILABLE, 'STS could not be reached; retry later');
  }
  const claim = checkCallerClaim(identity, exchange, settings);
  // A role of the account ECS is asked about answers for its own failures, whatever session it names.
  const provenRole = claim.caller && claim.caller.account === account ? { account, roleArn: claim.caller.roleArn } : undefined;
  if (provenRole && admitted.limitedRoles.has(provenRole.roleArn)) return exchangeRefusal(EXCHANGE_REASONS.RATE_LIMITED, 'too many refused exchanges for this role', RATE_WINDOW_SECONDS);
  if (!claim.ok) return failed(claim, source, provenRole);
  const describing = describeEarly ? describingEarly : settle(describeClaimedTask(exchange, settings, deps.tasks));
  // Counted only now, on what STS proved (role and session), so no one can spend a task's budget
  // by naming it; a looping agent is still stopped before the IAM call and the token's record.
  if (!(await deps.guard.withinLimit(`task#${claim.caller.arn}`, settings.ratePerTask, RATE_WINDOW_SECONDS, now)))
    return exchangeRefusal(EXCHANGE_REASONS.RATE_LIMITED, 'too many exchanges for this task', RATE_WINDOW_SECONDS);
  // Skipped only for a claim checkCallerClaim refuses, or one in another partition than this
  // region's, which ECS here cannot know (TASK_NOT_RUNNING, as ECS's answer would make it).
  const described = describing ? unsettle(describing) : Promise.resolve(undefined);
  const verified = await verifyTaskCaller(claim.caller, exchange, identity.userId, deps.roles, described);
  if (!verified.ok) return failed(verified, provenRole);
  const { role, task } = verified;
  audit.roleArn = role.arn;
  // Its events never reach this deployment, so it is never enrolled: nor may it hold a mesh identity.
  if (!clusterNamed(settings.clusters, task.clusterArn)) return exchangeRefusal(EXCHANGE_REASONS.CLUSTER_NOT_ALLOWED, `cluster ${task.clusterArn} is not in this deployment's ecsClusters`);

  // The policy is evaluated exactly as task-events does; a requested group stands in for a missing tag.
  const requested = exchange.requestedGroup && `${exchange.requestedGroup.namespace}/${exchange.requestedGroup.name}`;
  const tags = requested && !task.tags[WORKLOAD_GROUP_TAG] && !role.tags[WORKLOAD_GROUP_TAG] ? { ...task.tags, [WORKLOAD_GROUP_TAG]: requested } : task.tags;
  const decision = await decideEnrollment(contextOfTask(task), { ...task, tags }, deps, now);
  if (decision.outcome !== 'enrolled') return exchangeRefusal(DECISION_REFUSALS[decision.reason], decision.detail);
  if (decision.identity.role.roleId !== role.roleId) return failed(exchangeRefusal(EXCHANGE_REASONS.TASK_ROLE_MISMATCH, 'the task runs with another role than the caller'), provenRole);
  const group = decision.group;
  const groupKey = `${group.metadata.namespace}/${group.metadata.name}`;
  if (requested && requested !== groupKey) return exchangeRefusal(EXCHANGE_REASONS.POLICY_DENIED, `requested group ${requested} is not the task's group ${groupKey}`);
  // The entry's labels as task-events writes them: a label the group does not allow a task is not asked for here either.
  const labelProblem = labelsAllowed(exchange.labels, decision.entry.spec.labels ?? {});
  if (labelProblem) return exchangeRefusal(EXCHANGE_REASONS.LABELS_NOT_ALLOWED, labelProblem);

  const { profile } = profileFor(group, settings.defaultProfile);
  // The token names the entry task-events writes for this task: the decision's own.
  const entryName = decision.entry.metadata.name;
  const jti = deps.newTokenId();
  const claims = onboardingTokenClaims({ profile, group, issuer: settings.issuer, audiences: settings.audiences, mesh: settings.meshName, now, lifetimeSeconds: settings.lifetimeSeconds, jti, taskArn: task.taskArn, entryName });
  const signed = await deps.signers[profile].sign(claims, now);
  const issuedAt = new Date(claims.iat * 1000).toISOString();
  const expiresAt = new Date(claims.exp * 1000).toISOString();
  const recorded = await deps.enrollments.attachToken(
    { taskId: exchange.taskId, taskArn: task.taskArn, clusterArn: task.clusterArn, clusterName: decision.identity.clusterName },
    { jti, issuedAt, expiresAt, kid: signed.kid },
    now,
  );
  // A tombstone appeared while we checked: the task stopped, and the token is not handed out.
  if (!recorded) return exchangeRefusal(EXCHANGE_REASONS.TASK_NOT_RUNNING, 'the task stopped');
  return {
    ok: true,
    body: {
      token: signed.token,
      tokenType: 'Bearer',
      expiresAt,
      issuedAt,
      kid: signed.kid,
      profile,
      workloadGroup: groupKey,
      workloadEntry: { namespace: decision.entry.metadata.namespace, name: entryName },
      ...(isHealthChecked(decision.entry) && group.spec.probe ? { readinessProbe: group.spec.probe } : {}),
      mesh: settings.meshName,
      issuer: settings.issuer,
      jwksUrl: `${settings.issuer}/.well-known/jwks.json`,
    },
  };
}

/**
 * Every refusal of the enrollment decision, in the exchange's codes. A Record over the decision's
 * refusals, so a refusal added there does not compile until it is given its code here.
 */
const DECISION_REFUSALS: Record<RefusalReason, ExchangeReason> = {
  [REASONS.NO_WORKLOAD_GROUP_TAG]: EXCHANGE_REASONS.TAG_MISSING,
  [REASONS.INVALID_WORKLOAD_GROUP_TAG]: EXCHANGE_REASONS.TAG_MISSING,
  [REASONS.WORKLOAD_GROUP_NOT_FOUND]: EXCHANGE_REASONS.GROUP_NOT_FOUND,
  [REASONS.NO_TASK_ROLE]: EXCHANGE_REASONS.TASK_ROLE_MISMATCH,
  [REASONS.TASK_ROLE_NOT_FOUND]: EXCHANGE_REASONS.TASK_ROLE_MISMATCH,
  [REASONS.TASK_ROLE_OTHER_ACCOUNT]: EXCHANGE_REASONS.TASK_ROLE_MISMATCH,
  [REASONS.POLICY_DENIED]: EXCHANGE_REASONS.POLICY_DENIED,
  [REASONS.NETWORK_MODE_UNSUPPORTED]: EXCHANGE_REASONS.NETWORK_MODE_UNSUPPORTED,
  [REASONS.NO_PRIVATE_IP]: EXCHANGE_REASONS.NO_PRIVATE_IP,
  [REASONS.ENTRY_INVALID]: EXCHANGE_REASONS.ENTRY_INVALID,
  [REASONS.ADDRESS_IN_USE]: EXCHANGE_REASONS.ADDRESS_IN_USE,
};

/** Holds a promise's outcome without letting a rejection go unhandled while it is not awaited. */
function settle<T>(promise: Promise<T> | undefined): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> | undefined {
  return promise?.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
}

async function unsettle<T>(settled: Promise<{ ok: true; value: T } | { ok: false; error: unknown }>): Promise<T> {
  const outcome = await settled;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
