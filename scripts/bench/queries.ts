/**
 * Bench section `queries`: what the enrollment table's readers read, against what they answer
 * (issue 13: "GET /v1/enrollments, hourly token maintenance: indexed Query, cost ∝ the answer").
 * A table of 3,000 records over 10 namespaces on moto, with the indexes serverless.yml declares;
 * each reader runs through the project's own store, and DynamoDB's own counts (ScannedCount,
 * BatchGetItem's responses) say how many items it read. The Scans the readers made before are
 * run on the same table for comparison, as the old code made them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { bootstrapLocalStack } from '../../local/bootstrap.js';
import { LOCAL_AWS_ENV, startMoto } from '../../local/moto.js';
import { DynamoDbEnrollmentStore } from '../../shared/adapters/dynamodb-enrollment-store.js';
import { maintainServiceTokens } from '../../shared/app/maintain-service-tokens.js';
import type { EnrollmentRecord, Phase } from '../../shared/core/enrollment.js';
import type { ObjectRef, WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import type { ServiceTokenDocument } from '../../shared/core/tokens.js';
import type { Log, ServiceTokenVault, TokenSigner } from '../../shared/ports.js';
import type { BenchRow, BenchSection } from './row.js';

const RECORDS = Number(process.env.BENCH_QUERY_RECORDS ?? 3000);
const NAMESPACES = 10;
/** Namespaces 8 and 9 have had no task for long: their services' secrets are due for removal. */
const IDLE_NAMESPACES = new Set([8, 9]);
const PAGE = 100;
const quiet: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: (m, e) => console.error(m, e) };

export const queriesSection: BenchSection = { name: 'queries', run };

/** What the DynamoDB client read: index or table items examined (Query, Scan) and records fetched (BatchGetItem). */
interface Tally {
  examined: number;
  fetched: number;
  calls: number;
}

const ns = (n: number) => `ns-${String(n).padStart(2, '0')}`;

/** Record i: 60 % enrolled, 10 % pending, 20 % deregistered, 10 % rejected (a third of those revoked by the reconciler). */
function recordOf(i: number, at: string, longAgo: string): EnrollmentRecord & { repairKind?: string } {
  const n = i % NAMESPACES;
  const slot = Math.floor(i / NAMESPACES) % 10;
  const idle = IDLE_NAMESPACES.has(n);
  const phase: Phase = idle ? 'deregistered' : slot < 6 ? 'enrolled' : slot === 6 ? 'pending' : slot < 9 ? 'deregistered' : 'rejected';
  const taskId = i.toString(16).padStart(32, '0');
  const cluster = `c-${i % 3}`;
  const revoked = phase === 'rejected' && Math.floor(i / 100) % 3 === 0;
  return {
    taskId,
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/${cluster}/${taskId}`,
    clusterArn: `arn:aws:ecs:us-east-1:123456789012:cluster/${cluster}`,
    clusterName: cluster,
    version: 3,
    phase,
    reason: phase === 'rejected' ? (revoked ? 'POLICY_REVOKED' : 'POLICY_DENIED') : 'POLICY_ALLOWED',
    detail: `allowed by allow-${ns(n)} rule 0; a detail line as long as the pipeline writes`,
    lastStatus: phase === 'deregistered' ? 'STOPPED' : 'RUNNING',
    desiredStatus: phase === 'deregistered' ? 'STOPPED' : 'RUNNING',
    namespace: ns(n),
    workloadGroup: 'svc',
    entryName: `svc-${taskId}`,
    entryUid: `uid-${taskId}`,
    address: `10.0.${Math.floor(i / 250)}.${i % 250}`,
    roleArn: `arn:aws:iam::123456789012:role/${ns(n)}-svc`,
    policy: `allow-${ns(n)}`,
    rule: 0,
    updatedAt: idle ? longAgo : at,
    ...(phase === 'deregistered' ? { expiresAt: 4_102_444_800 } : {}),
    ...(revoked ? { lastReconciledAt: at, repair: { kind: 'revoked', at, why: 'the policy no longer allows it' }, repairKind: 'revoked' } : {}),
  };
}

/** The Scan the old listing made: 1 MB pages, filtered, until `limit` items matched. */
async function oldScan(doc: DynamoDBDocumentClient, table: string, filter: Record<string, string>, limit: number): Promise<number> {
  const names = Object.fromEntries(Object.keys(filter).map((k) => [`#${k}`, k]));
  const values = Object.fromEntries(Object.entries(filter).map(([k, v]) => [`:${k}`, v]));
  const clauses = Object.keys(filter).map((k) => `#${k} = :${k}`);
  let scanned = 0;
  let matched = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ...(clauses.length ? { FilterExpression: clauses.join(' AND '), ExpressionAttributeNames: names, ExpressionAttributeValues: values } : {}) }));
    scanned += out.ScannedCount ?? 0;
    matched += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start && matched < limit);
  return scanned;
}

/** A vault of fresh tokens, one per namespace's service: maintenance's table reads are what is measured. */
function vaultOf(now: Date, issuedLongAgo: string): ServiceTokenVault & { removed: string[] } {
  const removed: string[] = [];
  const doc = (n: number): ServiceTokenDocument => ({
    token: 'x.y.z',
    issuedAt: IDLE_NAMESPACES.has(n) ? issuedLongAgo : now.toISOString(),
    expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
    kid: 'k1',
    profile: 'istio',
    workloadGroup: `${ns(n)}/svc`,
  });
  const index = (ref: ObjectRef) => Number(ref.namespace.slice(3));
  return {
    removed,
    read: async (ref) => (removed.includes(ref.namespace) ? undefined : { document: doc(index(ref)), versionId: 'v1' }),
    write: async () => 'written',
    list: async () => Array.from({ length: NAMESPACES }, (_, n) => ({ namespace: ns(n), name: 'svc' })),
    remove: async (ref) => void removed.push(ref.namespace),
  };
}

async function run(): Promise<BenchRow[]> {
  const moto = await startMoto();
  try {
    Object.assign(process.env, LOCAL_AWS_ENV);
    const settings = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    const stack = await bootstrapLocalStack(settings);
    const table = stack.enrollmentTable;
    const base = new DynamoDBClient(settings);
    const tally: Tally = { examined: 0, fetched: 0, calls: 0 };
    base.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const out = (result.output ?? {}) as { ScannedCount?: number; Responses?: Record<string, unknown[]> };
        tally.calls++;
        tally.examined += out.ScannedCount ?? 0;
        for (const items of Object.values(out.Responses ?? {})) tally.fetched += items.length;
        return result;
      },
      { step: 'initialize', name: 'benchReadTally' },
    );
    const doc = DynamoDBDocumentClient.from(base);
    const store = new DynamoDbEnrollmentStore(doc, table);
    const measure = async <T>(work: () => Promise<T>): Promise<{ result: T } & Tally> => {
      Object.assign(tally, { examined: 0, fetched: 0, calls: 0 });
      const result = await work();
      return { result, ...tally };
    };

    const now = new Date();
    const longAgo = new Date(now.getTime() - 30 * 86_400_000).toISOString();
    const records = Array.from({ length: RECORDS }, (_, i) => recordOf(i, now.toISOString(), longAgo));
    for (let i = 0; i < records.length; i += 25)
      await doc.send(new BatchWriteCommand({ RequestItems: { [table]: records.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    const inNs = (n: number) => records.filter((r) => r.namespace === ns(n));
    const live = records.filter((r) => r.phase === 'enrolled' || r.phase === 'pending').length;
    console.error(`[queries] ${RECORDS} records, ${NAMESPACES} namespaces, ${live} live`);

    const rows: BenchRow[] = [];
    const listingRow = async (label: string, filter: Parameters<typeof store.listPage>[0], oldFilter: Record<string, string>, floor: (returned: number) => number, floorText: string) => {
      const m = await measure(() => store.listPage(filter, PAGE));
      const returned = m.result.items.length;
      const before = await oldScan(doc, table, oldFilter, PAGE);
      const meets = m.examined <= floor(returned) && m.fetched <= returned + 0;
      rows.push({
        measure: `\`GET /v1/enrollments\` ${label}, a page of ${PAGE}`,
        now: `${m.examined} index items + ${m.fetched} records read for ${returned} returned, ${m.calls} calls (the Scan read ${before})`,
        goal: floorText,
        meets,
        ...(meets ? {} : { reason: `read ${m.examined} index items for ${returned} returned` }),
        data: { returned, indexItemsRead: m.examined, recordsRead: m.fetched, calls: m.calls, scanBefore: before },
      });
    };
    await listingRow('-n ns-03', { namespace: ns(3) }, { namespace: ns(3) }, (r) => r, 'index items read = returned');
    await listingRow('unfiltered', {}, {}, (r) => r, 'index items read = returned');
    await listingRow('--repair revoked', { repairKind: 'revoked' }, { repairKind: 'revoked' }, (r) => r, 'index items read = returned');
    await listingRow('-n ns-03 --phase rejected (phase: a filter on the namespace Query)', { namespace: ns(3), phase: 'rejected' }, { namespace: ns(3), phase: 'rejected' }, () => inNs(3).length, `≤ the namespace's ${inNs(3).length} index items`);

    // Every page of a namespace: the cost of the whole answer is the answer.
    {
      let pages = 0;
      const m = await measure(async () => {
        let cursor: Parameters<typeof store.listPage>[2];
        let seen = 0;
        do {
          const page = await store.listPage({ namespace: ns(4) }, PAGE, cursor);
          seen += page.items.length;
          cursor = page.next;
          pages++;
        } while (cursor);
        return seen;
      });
      const meets = m.result === inNs(4).length && m.examined <= m.result;
      rows.push({
        measure: `\`enrollments list -n ns-04 --all\` (${inNs(4).length} records)`,
        now: `${m.examined} index items + ${m.fetched} records read for ${m.result} returned, ${pages} pages, ${m.calls} calls`,
        goal: 'index items read = returned',
        meets,
        ...(meets ? {} : { reason: `returned ${m.result} of ${inNs(4).length}, read ${m.examined}` }),
        data: { returned: m.result, indexItemsRead: m.examined, recordsRead: m.fetched, pages, calls: m.calls },
      });
    }

    // Hourly token maintenance: one service secret per namespace, two of them idle.
    {
      const vault = vaultOf(now, longAgo);
      const groups = new Map(Array.from({ length: NAMESPACES }, (_, n) => [ns(n), { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'svc', namespace: ns(n) }, spec: { template: {} } } as unknown as WorkloadGroup]));
      // Every token is fresh and its key published: maintenance mints nothing, so only reads count.
      const signer: TokenSigner = { sign: async () => Promise.reject(new Error('the bench keeps every token fresh')), publishes: async () => true };
      const m = await measure(() =>
        maintainServiceTokens(
          { vault, enrollments: store, mesh: { getWorkloadGroup: async (ref) => groups.get(ref.namespace) }, idleSeconds: 7 * 86_400, signers: { istio: signer, kuma: signer }, log: quiet, issuer: 'https://bench', audiences: ['istio-ca'], meshName: 'bench', defaultProfile: 'istio', lifetimeSeconds: 86_400 },
          now,
        ),
      );
      const idleRecords = [...IDLE_NAMESPACES].reduce((a, n) => a + inNs(n).length, 0);
      let before = 0;
      for (let n = 0; n < NAMESPACES; n++) before += await oldScan(doc, table, { namespace: ns(n) }, Number.MAX_SAFE_INTEGER);
      const ok = m.result.failed === 0 && m.result.removed === IDLE_NAMESPACES.size && vault.removed.length === IDLE_NAMESPACES.size;
      const meets = ok && m.examined <= RECORDS && m.fetched <= idleRecords;
      rows.push({
        measure: `hourly token maintenance, ${NAMESPACES} service secrets (${IDLE_NAMESPACES.size} idle)`,
        now: `${m.examined} index items + ${m.fetched} records read, ${m.calls} calls (the Scans read ${before})`,
        goal: `each record read once: ≤ ${RECORDS} index items + the idle services' ${idleRecords} records`,
        meets,
        ...(meets ? {} : { reason: ok ? `read ${m.examined} index items and ${m.fetched} records` : `maintenance answered ${JSON.stringify(m.result)}` }),
        data: { summary: m.result, indexItemsRead: m.examined, recordsRead: m.fetched, calls: m.calls, scansBefore: before },
      });
    }

    // The reconciler's table listing: the live records, as the pass asks for them.
    {
      const m = await measure(async () => (await Promise.all((['enrolled', 'pending'] as const).map((phase) => store.summaries({ phase })))).flat());
      const before = (await oldScan(doc, table, { phase: 'enrolled' }, Number.MAX_SAFE_INTEGER)) + (await oldScan(doc, table, { phase: 'pending' }, Number.MAX_SAFE_INTEGER));
      const meets = m.result.length === live && m.examined === live;
      const indexBytes = JSON.stringify(m.result).length;
      const tableBytes = JSON.stringify(records).length;
      rows.push({
        measure: 'a reconcile pass: its reads of the enrollment table (the live records)',
        now: `${m.examined} index items read for ${m.result.length} live records, ${m.calls} calls, ~${Math.round(indexBytes / 1024)} KB (the 2 Scans read ${before}, ~${Math.round((2 * tableBytes) / 1024)} KB)`,
        goal: 'the floor: every live record once (the pass looks for those ECS no longer lists)',
        meets,
        ...(meets ? {} : { reason: `read ${m.examined} for ${live} live records` }),
        data: { live, indexItemsRead: m.examined, calls: m.calls, scansBefore: before, indexKB: Math.round(indexBytes / 1024), scannedKB: Math.round((2 * tableBytes) / 1024) },
      });
    }
    return rows;
  } finally {
    await moto.stop();
  }
}
