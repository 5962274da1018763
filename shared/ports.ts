/**
 * Ports: the small interfaces the use cases need from the outside world.
 * Adapters in shared/adapters/ implement them; tests use InMemory doubles from test/support/.
 */
import type { EnrollmentRecord, IssuedToken, Phase } from './core/enrollment.js';
import type { EnrollmentCursor, EnrollmentListFilter, EnrollmentSummary } from './core/enrollment-index.js';
import type { OnboardingPolicy } from './core/schemas.js';
import type { DeletePreconditions, ObjectRef, WorkloadEntry, WorkloadGroup } from './core/kubernetes-types.js';
import type { EcsTaskDescription, TaskDefinitionFacts, RoleFacts } from './core/task.js';
import type { PublicJwk, ServiceTokenDocument, SignedToken, TokenProfile } from './core/tokens.js';
import type { StsCall } from './core/exchange.js';
import type { PublicKeyStatus } from './core/public-key-set.js';
import type { KeySetChange } from './core/signing-keys.js';
import type { AddressHolder, NetworkAddress } from './core/networks.js';
import type { MeshService, RecordChange, Sidecar, ZoneRecord } from './core/mesh-names.js';

/** The logging the use cases need; Powertools' Logger satisfies it. */
export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/**
 * The mesh's WorkloadGroups, read: all that deciding and token upkeep need of the mesh (explain,
 * the auth exchange and token maintenance hold no more, and bundle no entry writer).
 */
export interface WorkloadGroupReader {
  getWorkloadGroup(ref: ObjectRef): Promise<WorkloadGroup | undefined>;
}

/** The mesh's Kubernetes API (or a directory of manifests): groups read, entries read and written. */
export interface MeshApi extends WorkloadGroupReader {
  getWorkloadEntry(ref: ObjectRef): Promise<WorkloadEntry | undefined>;
  /** Server-side apply with this project's field manager; returns the stored object (uid, resourceVersion). */
  applyWorkloadEntry(entry: WorkloadEntry): Promise<WorkloadEntry>;
  /** Deletes only if the preconditions hold; `false` if it was already gone. Throws MeshPreconditionError otherwise. */
  deleteWorkloadEntry(ref: ObjectRef, preconditions: DeletePreconditions): Promise<boolean>;
  /** Lists entries matching every label given; all namespaces when `namespace` is omitted. */
  listWorkloadEntries(labels: Record<string, string>, namespace?: string): Promise<WorkloadEntry[]>;
}

/** Onboarding policies, read by namespace. */
export interface PolicyStore {
  /** Documents that fail validation are returned as `invalid` so decisions can say so. */
  listPolicies(namespace: string): Promise<StoredPolicy[]>;
}

export type StoredPolicy =
  | { valid: true; name: string; revision: number; policy: OnboardingPolicy }
  | { valid: false; name: string; revision: number; problem: string };

/** A policy as the policy API stores it: the current document and its last change. */
export interface PolicyRecord {
  namespace: string;
  name: string;
  /** Grows by one with every change, across deletes and re-creates: the API's ETag. */
  revision: number;
  updatedAt: string;
  /** The SigV4 caller's ARN. */
  updatedBy: string;
  stored: StoredPolicy;
  /** The document as stored (parsed JSON), even when it no longer validates. */
  document: unknown;
}

export type PolicyAction = 'create' | 'update' | 'delete';

/** One entry of a policy's audit trail. */
export interface PolicyChange {
  revision: number;
  action: PolicyAction;
  actor: string;
  at: string;
  before: unknown;
  after: unknown;
}

export interface PolicyWrite {
  namespace: string;
  name: string;
  /** The revision the caller read, or `absent` to create only. */
  expected: number | 'absent';
  /** The new document; `null` deletes. */
  after: OnboardingPolicy | null;
  /** The document at `expected` (for the audit trail). */
  before: unknown;
  actor: string;
  at: Date;
}

/** The policy API's view of the policy table, uncached, plus the audit trail. */
export interface PolicyAdminStore {
  get(namespace: string, name: string): Promise<PolicyRecord | undefined>;
  list(namespace: string): Promise<PolicyRecord[]>;
  /**
   * Writes the change and its audit entry atomically and returns the new revision; throws
   * PolicyConflictError when the stored revision is no longer `expected`.
   */
  write(change: PolicyWrite): Promise<number>;
  /** Newest first. */
  history(namespace: string, name: string, limit: number): Promise<PolicyChange[]>;
}

/** Enrollment records, one per task, ordered by ECS event version. */
export interface EnrollmentStore {
  getMany(taskIds: string[]): Promise<Map<string, EnrollmentRecord>>;
  get(taskId: string): Promise<EnrollmentRecord | undefined>;
  /**
   * Writes `record` only if no record exists or the stored one has a lower version and is
   * not a tombstone; throws VersionConflictError otherwise.
   */
  put(record: EnrollmentRecord): Promise<void>;
  /**
   * One page of the records matching `filter`, from an index Query (no Scan), in task-id order
   * within each index partition (unfiltered: phase after phase):
   * `next` is where the following page resumes, absent on the last page.
   */
  listPage(filter: EnrollmentListFilter, limit: number, cursor?: EnrollmentCursor): Promise<EnrollmentPage>;
  /** Every record of one phase or one namespace, as the indexes hold it (all pages, eventually consistent). */
  summaries(key: { phase: Phase } | { namespace: string }): Promise<EnrollmentSummary[]>;
  /**
   * The reconciler's write: `record` (at version `fence`) only if no record exists or the stored
   * one's version is at most `fence`, and a live phase never over a tombstone; throws
   * VersionConflictError otherwise (a newer event was applied: it wins).
   */
  putReconciled(record: EnrollmentRecord, fence: number): Promise<void>;
  /**
   * Records the onboarding token issued to a task: on its record, or on a new `pending` record
   * at version 0 that any event supersedes. `false` when the task is tombstoned.
   */
  attachToken(task: Pick<EnrollmentRecord, 'taskId' | 'taskArn' | 'clusterArn' | 'clusterName'>, token: IssuedToken, now: Date): Promise<boolean>;
}

export interface EnrollmentPage {
  items: EnrollmentRecord[];
  next?: EnrollmentCursor;
  /** Index items the page's Queries read (DynamoDB's ScannedCount): its cost, next to `items.length`. */
  examined: number;
}

/**
 * Who holds each address of each network (docs/architecture.md#networks): one live task at a time,
 * so no two entries of one network share an address.
 */
export interface AddressClaims {
  /** The task other than `taskId` whose claim holds the address now (claimHolds), if any: a read, for every decision. */
  heldByAnother(at: NetworkAddress, taskId: string, now: Date): Promise<AddressHolder | undefined>;
  /**
   * Claims the address for the task, atomically: when no claim holds it, or the task's own does.
   * Returns the other holder that keeps it, or `undefined` when the task holds it now. Of two tasks
   * claiming at once, exactly one gets `undefined`.
   */
  claim(at: NetworkAddress, task: Pick<AddressHolder, 'taskId' | 'taskArn'>, now: Date): Promise<AddressHolder | undefined>;
  /** Gives up the task's claim; another task's claim on the address is left alone. */
  release(at: NetworkAddress, taskId: string): Promise<void>;
}

/** The VPC of a task's subnet, read in the subnet's own account. */
export interface SubnetDirectory {
  /** `undefined` when the subnet does not exist (or is not visible). */
  vpcOf(subnetId: string, accountId: string, partition: string): Promise<string | undefined>;
}

/** ECS reads: tasks (batched per cluster) and immutable task definitions. */
export interface TaskDirectory {
  /** One DescribeTasks per cluster per 100 ARNs (include TAGS), keyed by task id; missing tasks are absent. */
  describeTasks(clusterArn: string, taskArns: string[]): Promise<Map<string, EcsTaskDescription>>;
  describeTaskDefinition(taskDefinitionArn: string): Promise<TaskDefinitionFacts>;
}

/** The ECS inventory the reconciler walks. */
export interface TaskInventory {
  /** Every cluster ARN of this account and region. */
  listClusters(): Promise<string[]>;
  /** Every task ARN with desired status RUNNING in the cluster, all pages. */
  listRunningTaskArns(clusterArn: string): Promise<string[]>;
}

/** Where the reconciler carries on from in the next invocation (bounded work). */
export interface ReconcileCursorStore {
  load(): Promise<string | undefined>;
  /** `undefined`: the pass is complete; the next starts from the beginning. */
  save(afterTaskId: string | undefined): Promise<void>;
}

/** IAM reads in the role's own account. */
export interface RoleDirectory {
  /** `undefined` if the role does not exist. */
  getRole(roleArn: string): Promise<RoleFacts | undefined>;
}

/** Where records that can never be processed are set aside with their reason. */
export interface DeadLetterSink {
  setAside(body: string, reason: string, detail: string): Promise<void>;
}

/** A record set aside on the task-events DLQ, as an operator sees it. */
export interface DeadLetter {
  messageId: string;
  /** MALFORMED_EVENT when task-events set it aside; absent when SQS redrove it after 5 receives. */
  reason?: string;
  detail?: string;
  /** When it was first sent (ISO 8601): on a redriven record, when EventBridge sent it. */
  sentAt?: string;
  /** Receives so far, on the main queue and the DLQ together. */
  receiveCount?: number;
  body: string;
}

/** The task-events DLQ, read and replayed by operators (`ecs-mesh dlq list|replay`). */
export interface DeadLetterQueue {
  /** Up to `limit` records, left on the queue and visible again when it answers. */
  list(limit: number): Promise<DeadLetter[]>;
  /** Sends up to `limit` records set aside before `startedAt` back to the task-events queue, then deletes them here. */
  replay(limit: number, startedAt: Date): Promise<DeadLetter[]>;
}

/** Signs JWTs with one key set's active key (created on first use). */
export interface TokenSigner {
  sign(claims: Record<string, unknown>, now: Date): Promise<SignedToken>;
  /**
   * Whether a token signed with `kid` still verifies through the published keys at `now`: false
   * once the key is revoked or retired, so a stored token signed with it is minted again.
   */
  publishes(kid: string, now: Date): Promise<boolean>;
}

/** One signer per claim profile: each profile has its own keys, so no token passes the other's verifiers. */
export type TokenSigners = Readonly<Record<TokenProfile, TokenSigner>>;

/** The public keys to publish: the active one and retired ones whose tokens may still be live. */
export interface PublishedKeys {
  publicKeys(now: Date): Promise<PublicJwk[]>;
}

/** Per-service data-plane token secrets in Secrets Manager (docs/architecture.md#tokens). */
export interface ServiceTokenVault {
  /** `undefined` when the secret does not exist; `document` is undefined when it is unreadable. */
  read(group: ObjectRef): Promise<{ document: ServiceTokenDocument | undefined; versionId: string } | undefined>;
  /**
   * Writes a new version that replaces `replacingVersionId` (undefined: creates the secret).
   * Concurrent writers replacing the same version produce one version: the others get 'superseded'.
   */
  write(group: ObjectRef, document: ServiceTokenDocument, replacingVersionId: string | undefined): Promise<'written' | 'superseded'>;
  /** Every service token secret of this deployment. */
  list(): Promise<ObjectRef[]>;
  remove(group: ObjectRef): Promise<void>;
}

/** What STS says about a signed GetCallerIdentity (docs/architecture.md#exchange). */
export interface CallerIdentity {
  arn: string;
  /** For an assumed role: `<RoleId>:<session name>`. */
  userId: string;
  account: string;
}

/** Sends the rebuilt STS request; throws StsRejectedError, UpstreamThrottledError or StsUnavailableError. */
export interface CallerIdentityVerifier {
  verify(call: StsCall): Promise<CallerIdentity>;
}

/** Whose failed verifications a counter holds: a source address, or a proven role (by its role ARN) and its account. */
export type FailureSubject = { source: string } | { account: string; roleArn: string };

/**
 * The guard's answer before STS. `limitedRoles`: the role ARNs of the claimed task's account that
 * are at their own limit in this window.
 */
export type Admission = { verdict: 'admitted'; limitedRoles: ReadonlySet<string> } | { verdict: 'replayed' } | { verdict: 'source-limited' } | { verdict: 'account-limited' };

/**
 * The exchange's guard state (docs/architecture.md#exchange): single use of signatures, failed
 * verifications per source and per proven role and account, and proven requests per task session,
 * in a table with a TTL.
 */
export interface ExchangeGuard {
  /**
   * Before STS, in one round trip: claims the signature (`replayed` when it was presented before),
   * reads the source's failed verifications in this window (`source-limited` at `failureLimit`) and,
   * given an `account`, that account's (`account-limited` at its `failureLimit`) with its roles'.
   */
  admit(
    request: { replayKey: string; keepUntil: Date; source: string; failureLimit: number; windowSeconds: number; account?: { id: string; failureLimit: number; roleFailureLimit: number } },
    now: Date,
  ): Promise<Admission>;
  /** Counts one failed verification of `subject` in the current window. */
  countFailure(subject: FailureSubject, windowSeconds: number, now: Date): Promise<void>;
  /** Counts one use of `key` in the current window; `false` when `limit` is exceeded. */
  withinLimit(key: string, limit: number, windowSeconds: number, now: Date): Promise<boolean>;
}

/** One profile's signing key set, as the keys function changes it (rotate, prune, revoke). */
export interface KeyRotator {
  /** Adds a pending successor (or the first key) and prunes keys past their retirement. */
  rotate(now: Date, options?: { emergency?: boolean }): Promise<KeySetChange>;
  /** `undefined` when the profile has no key set yet. */
  prune(now: Date): Promise<KeySetChange | undefined>;
  /** Withdraws `kid` now, or says why not; `undefined` when the profile has no key set yet. */
  revoke(kid: string, now: Date): Promise<KeySetChange | { refused: 'KEY_NOT_FOUND' | 'KEY_SIGNING'; message: string } | undefined>;
}

/** One profile's published keys, as the keys function lists them (the public set only). */
export interface KeyLister {
  statuses(now: Date): Promise<PublicKeyStatus[]>;
}

/** The loopback addresses of mesh names (docs/architecture.md#mesh-names), as one versioned book: host → address. */
export interface NameAddressBook {
  /** The book as stored (consistent read); revision 0 when nothing was ever allocated. */
  read(): Promise<NameAddresses>;
  /**
   * Replaces the book if its revision is still `revision`, as revision + 1; `false` when another
   * writer was first (read again and redo the change). Of two writers at one revision, one wins.
   */
  write(book: Omit<NameAddresses, 'revision'>, revision: number): Promise<boolean>;
}

export interface NameAddresses {
  revision: number;
  /** host → address. */
  addresses: ReadonlyMap<string, string>;
  /** address → when it was freed (ISO 8601): handed out again only after a quarantine. */
  released: ReadonlyMap<string, string>;
}

/** The mesh's private hosted zone (docs/architecture.md#mesh-names). */
export interface NameZone {
  /** Every A record of the zone, all pages. */
  listRecords(): Promise<ZoneRecord[]>;
  /** Applies one batch atomically (changeBatches: within Route53's limit), in its turn under the request rate. */
  change(batch: readonly RecordChange[]): Promise<void>;
}

/** What the names function reads and writes in the mesh's Kubernetes API (docs/architecture.md#mesh-names). */
export interface MeshNamesApi {
  /** Every WorkloadGroup, in every namespace. */
  listWorkloadGroups(): Promise<WorkloadGroup[]>;
  listServices(namespace: string): Promise<MeshService[]>;
  /** Every Sidecar of ours (app.kubernetes.io/managed-by), in every namespace. */
  listOwnSidecars(): Promise<Sidecar[]>;
  /** Validated against Istio's CRD first (MeshValidationError). */
  applySidecar(sidecar: Sidecar): Promise<void>;
  /** `false` when it was already gone. */
  deleteSidecar(ref: ObjectRef): Promise<boolean>;
}
