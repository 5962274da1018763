/**
 * In-memory doubles of the ports (shared/ports.ts), one place for every unit test of shared/app.
 * Each keeps its adapter's contract where a use case can tell the difference (conditional writes,
 * a refused write carrying the record that won, windows and TTLs counted on the caller's `now`),
 * and nothing else: the AWS behaviour itself is the integration tests' (moto).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, generateKeyPair, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { isDeepStrictEqual } from 'node:util';
import { toStoredPolicy } from '../../shared/adapters/dynamodb-policy-store.js';
import { isTombstone, type EnrollmentRecord, type IssuedToken, type Phase } from '../../shared/core/enrollment.js';
import { matchesFilter, planEnrollmentQuery, type EnrollmentCursor, type EnrollmentListFilter, type EnrollmentSummary } from '../../shared/core/enrollment-index.js';
import type { DeletePreconditions, ObjectRef, WorkloadEntry, WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { claimHolds, type AddressHolder, type NetworkAddress } from '../../shared/core/networks.js';
import type { EcsTaskDescription, RoleFacts, TaskDefinitionFacts } from '../../shared/core/task.js';
import type { ServiceTokenDocument, SignedToken } from '../../shared/core/tokens.js';
import { validateWorkloadEntry } from '../../shared/core/workload-entry-validation.js';
import { MeshPreconditionError, MeshValidationError, PolicyConflictError, VersionConflictError } from '../../shared/errors.js';
import type {
  AddressClaims,
  Admission,
  EnrollmentPage,
  EnrollmentStore,
  ExchangeGuard,
  FailureSubject,
  MeshApi,
  PolicyAdminStore,
  PolicyChange,
  PolicyRecord,
  PolicyStore,
  PolicyWrite,
  RoleDirectory,
  ServiceTokenVault,
  TaskDirectory,
  TaskInventory,
  TokenSigner,
} from '../../shared/ports.js';

/** The clock a test moves by hand: every use case takes `now`, so no test waits for one. */
export class ManualClock {
  private at: number;
  constructor(start: Date | string) {
    this.at = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.at);
  }
  advance(seconds: number): Date {
    this.at += seconds * 1000;
    return this.now();
  }
}

/** EnrollmentStore with DynamoDbEnrollmentStore's conditional semantics: a refused write carries the stored record (ALL_OLD). */
export class InMemoryEnrollmentStore implements EnrollmentStore {
  readonly records = new Map<string, EnrollmentRecord>();
  /** Runs before each put: lets a test interleave a concurrent writer. */
  beforePut: ((record: EnrollmentRecord) => void) | undefined;

  async get(taskId: string) {
    return this.records.get(taskId);
  }

  async getMany(taskIds: string[]) {
    return new Map(taskIds.flatMap((id) => (this.records.has(id) ? [[id, this.records.get(id)!] as const] : [])));
  }

  async put(record: EnrollmentRecord) {
    this.beforePut?.(record);
    const stored = this.records.get(record.taskId);
    const allowed = !stored || (stored.version < record.version && (isTombstone(record.phase) || !isTombstone(stored.phase)));
    if (!allowed) throw new VersionConflictError(`task ${record.taskId}: version ${record.version} is not newer`, { stored: structuredClone(stored) });
    // As the DynamoDB store: the exchange's token survives event writes; a tombstone drops it.
    const token = isTombstone(record.phase) ? undefined : stored?.onboardingToken;
    this.records.set(record.taskId, structuredClone({ ...record, ...(token ? { onboardingToken: token } : {}) }));
  }

  async putReconciled(record: EnrollmentRecord, fence: number) {
    const stored = this.records.get(record.taskId);
    const allowed = !stored || (stored.version <= fence && (isTombstone(record.phase) || !isTombstone(stored.phase)));
    if (!allowed) throw new VersionConflictError(`task ${record.taskId}: the stored record is newer than ${fence}`, { stored: structuredClone(stored) });
    const token = isTombstone(record.phase) ? undefined : stored?.onboardingToken;
    this.records.set(record.taskId, structuredClone({ ...record, version: fence, ...(token ? { onboardingToken: token } : {}) }));
  }

  async attachToken(task: Pick<EnrollmentRecord, 'taskId' | 'taskArn' | 'clusterArn' | 'clusterName'>, token: IssuedToken, now: Date) {
    const stored = this.records.get(task.taskId);
    if (stored && isTombstone(stored.phase)) return false;
    this.records.set(task.taskId, stored ? { ...stored, onboardingToken: token } : { ...task, version: 0, phase: 'pending', reason: 'TASK_STARTING', detail: '', lastStatus: 'UNKNOWN', desiredStatus: 'UNKNOWN', updatedAt: now.toISOString(), onboardingToken: token });
    return true;
  }

  /** As the indexes answer: the plan's partitions in turn, task-id order within each. */
  async listPage(filter: EnrollmentListFilter, limit: number, cursor?: EnrollmentCursor): Promise<EnrollmentPage> {
    const plan = planEnrollmentQuery(filter);
    const start = cursor ? plan.partitions.indexOf(cursor.partition) : 0;
    const ordered = plan.partitions.slice(start).flatMap((partition, i) =>
      this.inPartition(plan.keyAttribute, partition)
        .filter((r) => i > 0 || cursor?.after === undefined || r.taskId > cursor.after)
        .map((r) => ({ partition, r })),
    );
    const matching = ordered.filter(({ r }) => matchesFilter(r, filter));
    const page = matching.slice(0, limit);
    const last = page.at(-1);
    const next = matching.length > limit && last ? { partition: last.partition, after: last.r.taskId } : undefined;
    return { items: page.map(({ r }) => structuredClone(r)), ...(next ? { next } : {}), examined: ordered.length };
  }

  async summaries(key: { phase: Phase } | { namespace: string }): Promise<EnrollmentSummary[]> {
    const plan = planEnrollmentQuery(key);
    return this.inPartition(plan.keyAttribute, plan.partitions[0]!).map((r) => ({ ...r, ...(r.repair ? { repairKind: r.repair.kind } : {}) }));
  }

  private inPartition(attribute: string, value: string): EnrollmentRecord[] {
    const key = (r: EnrollmentRecord) => (attribute === 'repairKind' ? r.repair?.kind : (r as unknown as Record<string, unknown>)[attribute]);
    return [...this.records.values()].filter((r) => key(r) === value).sort((a, b) => a.taskId.localeCompare(b.taskId));
  }
}

/** AddressClaims with DynamoDbAddressClaims's semantics (claimHolds over the holders' records). */
export class InMemoryAddressClaims implements AddressClaims {
  readonly claims = new Map<string, AddressHolder>();

  /** `phaseOf`: the holder's enrollment record's phase, as the DynamoDB adapter reads it from the same table. */
  constructor(private readonly phaseOf: (taskId: string) => Phase | undefined) {}

  async heldByAnother(at: NetworkAddress, taskId: string, now: Date): Promise<AddressHolder | undefined> {
    const holder = this.claims.get(addressKey(at));
    return holder && holder.taskId !== taskId && claimHolds(holder, this.phaseOf(holder.taskId), now) ? holder : undefined;
  }

  async claim(at: NetworkAddress, task: Pick<AddressHolder, 'taskId' | 'taskArn'>, now: Date): Promise<AddressHolder | undefined> {
    const holder = await this.heldByAnother(at, task.taskId, now);
    if (holder) return holder;
    this.claims.set(addressKey(at), { ...task, claimedAt: now.toISOString() });
    return undefined;
  }

  async release(at: NetworkAddress, taskId: string): Promise<void> {
    if (this.claims.get(addressKey(at))?.taskId === taskId) this.claims.delete(addressKey(at));
  }
}

const addressKey = ({ network, address }: NetworkAddress) => `${network}#${address}`;

/**
 * The policy table and its audit trail, as DynamoDbPolicyAdminStore keeps them: a write is
 * conditional on the revision read, revisions grow across deletes, and a stored document is
 * validated on read (toStoredPolicy), so a document that no longer validates lists as `invalid`.
 */
export class InMemoryPolicyStore implements PolicyStore, PolicyAdminStore {
  private readonly items = new Map<string, { namespace: string; name: string; revision: number; document: string; updatedAt: string; updatedBy: string }>();
  private readonly audit = new Map<string, PolicyChange[]>();

  /** Stores `document` as is (valid or not), at the next revision, with its audit entry. */
  seed(namespace: string, name: string, document: unknown, at = new Date(0)): void {
    const revision = this.lastRevision(namespace, name) + 1;
    this.items.set(policyKey(namespace, name), { namespace, name, revision, document: JSON.stringify(document), updatedAt: at.toISOString(), updatedBy: 'seed' });
    this.audit.set(policyKey(namespace, name), [{ revision, action: 'create', actor: 'seed', at: at.toISOString(), before: null, after: document }, ...(this.audit.get(policyKey(namespace, name)) ?? [])]);
  }

  async listPolicies(namespace: string) {
    return (await this.list(namespace)).map((r) => r.stored);
  }

  async get(namespace: string, name: string): Promise<PolicyRecord | undefined> {
    const item = this.items.get(policyKey(namespace, name));
    return item && { namespace, name, revision: item.revision, updatedAt: item.updatedAt, updatedBy: item.updatedBy, stored: toStoredPolicy(item), document: JSON.parse(item.document) as unknown };
  }

  async list(namespace: string): Promise<PolicyRecord[]> {
    const names = [...this.items.values()].filter((i) => i.namespace === namespace).map((i) => i.name).sort();
    return Promise.all(names.map(async (name) => (await this.get(namespace, name))!));
  }

  async write(change: PolicyWrite): Promise<number> {
    const key = policyKey(change.namespace, change.name);
    const current = this.items.get(key);
    if (change.expected === 'absent' ? current !== undefined : current?.revision !== change.expected)
      throw new PolicyConflictError(`policy ${key} changed since revision ${change.expected}`);
    const revision = change.expected === 'absent' ? this.lastRevision(change.namespace, change.name) + 1 : change.expected + 1;
    const at = change.at.toISOString();
    if (change.after) this.items.set(key, { namespace: change.namespace, name: change.name, revision, document: JSON.stringify(change.after), updatedAt: at, updatedBy: change.actor });
    else this.items.delete(key);
    const action = change.after === null ? 'delete' : change.expected === 'absent' ? 'create' : 'update';
    this.audit.set(key, [{ revision, action, actor: change.actor, at, before: change.before ?? null, after: change.after }, ...(this.audit.get(key) ?? [])]);
    return revision;
  }

  async history(namespace: string, name: string, limit: number): Promise<PolicyChange[]> {
    return (this.audit.get(policyKey(namespace, name)) ?? []).slice(0, limit);
  }

  private lastRevision(namespace: string, name: string): number {
    return this.audit.get(policyKey(namespace, name))?.[0]?.revision ?? 0;
  }
}

const policyKey = (namespace: string, name: string) => `${namespace}/${name}`;

/** IAM roles by ARN; `calls` counts GetRole. */
export class InMemoryRoleDirectory implements RoleDirectory {
  readonly roles = new Map<string, RoleFacts>();
  calls = 0;
  constructor(roles: RoleFacts[] = []) {
    for (const role of roles) this.roles.set(role.arn, role);
  }
  async getRole(roleArn: string) {
    this.calls++;
    return this.roles.get(roleArn);
  }
}

/**
 * ECS as the task directory and the reconciler's inventory read it: DescribeTasks answers only the
 * tasks of the cluster asked, keyed by task id; the inventory lists tasks desired RUNNING.
 */
export class InMemoryEcs implements TaskDirectory, TaskInventory {
  readonly tasks = new Map<string, EcsTaskDescription>();
  readonly definitions = new Map<string, TaskDefinitionFacts>();
  readonly clusters = new Set<string>();
  /** DescribeTasks calls, by cluster ARN. */
  readonly describeCalls: string[] = [];

  put(task: EcsTaskDescription): void {
    this.tasks.set(task.taskArn, task);
    this.clusters.add(task.clusterArn);
  }

  async describeTasks(clusterArn: string, taskArns: string[]) {
    this.describeCalls.push(clusterArn);
    return new Map(taskArns.flatMap((arn) => {
      const task = this.tasks.get(arn);
      return task && task.clusterArn === clusterArn ? [[arn.split('/').pop()!, structuredClone(task)] as const] : [];
    }));
  }

  async describeTaskDefinition(taskDefinitionArn: string) {
    const definition = this.definitions.get(taskDefinitionArn);
    if (!definition) throw new Error(`task definition ${taskDefinitionArn} not found`);
    return definition;
  }

  async listClusters() {
    return [...this.clusters];
  }

  async listRunningTaskArns(clusterArn: string) {
    return [...this.tasks.values()].filter((t) => t.clusterArn === clusterArn && t.desiredStatus === 'RUNNING').map((t) => t.taskArn);
  }
}

/**
 * The mesh's API as the Kubernetes adapter answers it: an apply validates the entry against the
 * CRD (MeshValidationError), keeps the uid, bumps the resourceVersion on a change (not on an
 * identical apply) and stamps creationTimestamp on create; a delete checks its preconditions.
 */
export class InMemoryMeshApi implements MeshApi {
  readonly groups = new Map<string, WorkloadGroup>();
  readonly entries = new Map<string, WorkloadEntry>();

  constructor(private readonly clock: () => Date = () => new Date()) {}

  addGroup(group: WorkloadGroup): void {
    this.groups.set(policyKey(group.metadata.namespace, group.metadata.name), group);
  }

  async getWorkloadGroup(ref: ObjectRef) {
    return structuredClone(this.groups.get(policyKey(ref.namespace, ref.name)));
  }

  async getWorkloadEntry(ref: ObjectRef) {
    return structuredClone(this.entries.get(policyKey(ref.namespace, ref.name)));
  }

  async applyWorkloadEntry(entry: WorkloadEntry): Promise<WorkloadEntry> {
    const { uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, ...metadata } = entry.metadata;
    const desired: WorkloadEntry = { apiVersion: entry.apiVersion, kind: entry.kind, metadata, spec: entry.spec };
    const checked = validateWorkloadEntry(desired);
    if (!checked.ok) throw new MeshValidationError(`WorkloadEntry ${metadata.namespace}/${metadata.name} is invalid`, checked.problems);
    const key = policyKey(metadata.namespace, metadata.name);
    const current = this.entries.get(key);
    if (current) {
      const { uid, resourceVersion, creationTimestamp, ...currentMetadata } = current.metadata;
      if (isDeepStrictEqual({ ...current, metadata: currentMetadata }, desired)) return structuredClone(current);
      const updated = { ...desired, metadata: { ...metadata, uid, resourceVersion: String(Number(resourceVersion) + 1), creationTimestamp } };
      this.entries.set(key, structuredClone(updated));
      return updated;
    }
    const created = { ...desired, metadata: { ...metadata, uid: randomUUID(), resourceVersion: '1', creationTimestamp: this.clock().toISOString().replace(/\.\d{3}Z$/, 'Z') } };
    this.entries.set(key, structuredClone(created));
    return created;
  }

  async deleteWorkloadEntry(ref: ObjectRef, preconditions: DeletePreconditions): Promise<boolean> {
    const key = policyKey(ref.namespace, ref.name);
    const stored = this.entries.get(key);
    if (!stored) return false;
    if (stored.metadata.uid !== preconditions.uid) throw new MeshPreconditionError(`WorkloadEntry ${key}: UID in precondition: ${preconditions.uid}, UID in object: ${stored.metadata.uid}`);
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== stored.metadata.resourceVersion)
      throw new MeshPreconditionError(`WorkloadEntry ${key}: ResourceVersion in precondition: ${preconditions.resourceVersion}, in object: ${stored.metadata.resourceVersion}`);
    this.entries.delete(key);
    return true;
  }

  async listWorkloadEntries(labels: Record<string, string>, namespace?: string) {
    return [...this.entries.values()]
      .filter((e) => (namespace === undefined || e.metadata.namespace === namespace) && Object.entries(labels).every(([k, v]) => e.metadata.labels?.[k] === v))
      .map((e) => structuredClone(e));
  }
}

/** Secrets by group, each write a new version replacing exactly the one read; what a run wrote is in `writes`, what it removed in `removed`. */
export class InMemoryServiceTokenVault implements ServiceTokenVault {
  readonly secrets = new Map<string, { document: ServiceTokenDocument; versionId: string }>();
  readonly writes: string[] = [];
  readonly removed: string[] = [];
  private versions = 0;
  async read(group: ObjectRef) {
    return this.secrets.get(policyKey(group.namespace, group.name));
  }
  async write(group: ObjectRef, document: ServiceTokenDocument, replacing: string | undefined) {
    const key = policyKey(group.namespace, group.name);
    if (this.secrets.get(key)?.versionId !== replacing) return 'superseded' as const;
    this.secrets.set(key, { document, versionId: `v${++this.versions}` });
    this.writes.push(key);
    return 'written' as const;
  }
  async list() {
    return [...this.secrets.keys()].map((key) => ({ namespace: key.split('/')[0]!, name: key.split('/')[1]! }));
  }
  async remove(group: ObjectRef) {
    this.secrets.delete(policyKey(group.namespace, group.name));
    this.removed.push(policyKey(group.namespace, group.name));
  }
}

/**
 * The exchange's guard as DynamoDbExchangeGuard keeps it: counters per window of the caller's
 * `now` (so moving the clock a window on starts fresh counts), a signature claimed once, and the
 * source's limit judged before the replay claim.
 */
export class InMemoryExchangeGuard implements ExchangeGuard {
  readonly counters = new Map<string, number>();
  private readonly replays = new Set<string>();

  async admit(request: Parameters<ExchangeGuard['admit']>[0], now: Date): Promise<Admission> {
    const window = windowOf(now, request.windowSeconds);
    const claimed = !this.replays.has(request.replayKey);
    this.replays.add(request.replayKey);
    const { account } = request;
    if ((this.counters.get(`fail#source#${request.source}#${window}`) ?? 0) >= request.failureLimit) return { verdict: 'source-limited' };
    if (!claimed) return { verdict: 'replayed' };
    if (!account) return { verdict: 'admitted', limitedRoles: new Set() };
    const prefix = `fail#account#${account.id}#${window}`;
    if ((this.counters.get(prefix) ?? 0) >= account.failureLimit) return { verdict: 'account-limited' };
    const limitedRoles = [...this.counters].filter(([key, count]) => key.startsWith(`${prefix}#arn:`) && count >= account.roleFailureLimit).map(([key]) => key.slice(prefix.length + 1));
    return { verdict: 'admitted', limitedRoles: new Set(limitedRoles) };
  }

  async countFailure(subject: FailureSubject, windowSeconds: number, now: Date): Promise<void> {
    const window = windowOf(now, windowSeconds);
    const key = 'source' in subject ? `fail#source#${subject.source}#${window}` : `fail#account#${subject.account}#${window}`;
    this.add(key);
    if ('roleArn' in subject) this.add(`${key}#${subject.roleArn}`);
  }

  async withinLimit(key: string, limit: number, windowSeconds: number, now: Date): Promise<boolean> {
    const counter = `rate#${key}#${windowOf(now, windowSeconds)}`;
    if ((this.counters.get(counter) ?? 0) >= limit) return false;
    this.add(counter);
    return true;
  }

  private add(key: string): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
  }
}

const windowOf = (now: Date, windowSeconds: number) => Math.floor(now.getTime() / 1000 / windowSeconds);

/** A TokenSigner with one in-memory key pair, so tests can verify what was signed. */
export class TestTokenSigner implements TokenSigner {
  /** How many tokens were signed (each one a mint). */
  signed = 0;

  private constructor(
    readonly kid: string,
    readonly alg: 'RS256' | 'ES256',
    private readonly privateKey: CryptoKey,
    readonly publicKey: CryptoKey,
  ) {}

  static async create(kid = 'test-key-1', alg: 'RS256' | 'ES256' = 'RS256'): Promise<TestTokenSigner> {
    const { privateKey, publicKey } = await generateKeyPair(alg);
    return new TestTokenSigner(kid, alg, privateKey, publicKey);
  }

  async sign(claims: Record<string, unknown>, _now: Date): Promise<SignedToken> {
    this.signed++;
    const token = await new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: this.alg, kid: this.kid, typ: 'JWT' }).sign(this.privateKey);
    return { token, kid: this.kid, alg: this.alg };
  }

  /** The kids whose tokens verify: its own, and any a test publishes beside it (another key of the set). */
  readonly published = new Set<string>();

  async publishes(kid: string, _now: Date): Promise<boolean> {
    return kid === this.kid || this.published.has(kid);
  }

  /** Verifies the signature (and the time claims at `now`); returns the payload and header. */
  async verify(token: string, now: Date) {
    const { payload } = await jwtVerify(token, this.publicKey, { currentDate: now, algorithms: [this.alg] });
    return { payload, header: decodeProtectedHeader(token) };
  }
}
