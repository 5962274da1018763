/**
 * Mesh names under faults and drift, against moto and the Kubernetes API double: for a seeded
 * number of rounds, groups change what they declare, Services come and go, records and Sidecars
 * are edited and deleted by hand, and each refresh meets Route53 and the mesh API failing at
 * random. Then one refresh without faults must leave the figures below at 0, and a second must
 * change nothing: the scheduled refresh is what repairs drift.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Route53Client } from '@aws-sdk/client-route-53';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnrollmentTable, createMeshNamesZone } from '../../local/bootstrap.js';
import { DynamoDbNameAddressBook } from '../../shared/adapters/dynamodb-name-addresses.js';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import { Route53NameZone } from '../../shared/adapters/route53-name-zone.js';
import { refreshMeshNames, type MeshNamesDeps } from '../../shared/app/refresh-mesh-names.js';
import { parseLoopbackRange, type LoopbackRange } from '../../shared/core/loopback-addresses.js';
import { isNameRecord, type Sidecar } from '../../shared/core/mesh-names.js';
import { APP_PORT_ANNOTATION, UPSTREAMS_ANNOTATION } from '../../shared/core/upstream-declaration.js';
import { seededRandom } from '../support/chaos/random.js';
import { KubernetesApiDouble } from '../support/kubernetes-api-double.js';
import { localAwsConfig } from '../support/local-aws.js';
import { MemoryLog } from '../support/memory-log.js';

const TOKEN = 'names-chaos-token';
const SERVICES = 24;
const GROUPS = 6;
const ROUNDS = 25;
const SEED = 2212;
const NAMESPACE = 'shop';

const host = (i: number) => `s${i}.${NAMESPACE}.svc.cluster.local`;
const range = (parseLoopbackRange('127.1.0.0/16') as { range: LoopbackRange }).range;

let double: KubernetesApiDouble;
let deps: MeshNamesDeps;
let zone: Route53NameZone;
let book: DynamoDbNameAddressBook;

beforeAll(async () => {
  double = await KubernetesApiDouble.start({ token: TOKEN });
  const table = `names-chaos-${process.pid}-${Date.now()}`;
  await createEnrollmentTable(new DynamoDBClient(localAwsConfig()), table);
  const { zoneId } = await createMeshNamesZone(localAwsConfig());
  book = new DynamoDbNameAddressBook(DynamoDBDocumentClient.from(new DynamoDBClient(localAwsConfig())), table);
  zone = new Route53NameZone(new Route53Client(localAwsConfig()), { zoneId, sleep: async () => undefined });
  deps = { mesh: new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000, throttling: { attempts: 1 } }), book, zone, settings: { zone: 'svc.cluster.local', range }, log: new MemoryLog() };
});
afterAll(() => double.stop());

/** What the groups declare now, and which Services exist: the truth the figures are taken against. */
interface Truth {
  declared: Map<string, number[]>;
  services: Set<number>;
}

function groupObject(g: number, upstreams: number[] | undefined) {
  const annotations = upstreams === undefined ? {} : { [UPSTREAMS_ANNOTATION]: upstreams.map(host).join(','), [APP_PORT_ANNOTATION]: '8080' };
  return { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: `g${g}`, namespace: NAMESPACE, annotations }, spec: { template: { serviceAccount: `g${g}`, ports: { http: 9080 } } } };
}

function setGroup(g: number, upstreams: number[] | undefined): void {
  const live = double.objects('WorkloadGroup').find((o) => (o.metadata as { name: string }).name === `g${g}`);
  const object = groupObject(g, upstreams);
  if (live) double.adminReplace({ ...object, metadata: { ...object.metadata, resourceVersion: (live.metadata as { resourceVersion: string }).resourceVersion } } as never);
  else double.seed(object as never);
}

/** The figures after a refresh without faults; every one must be 0. */
async function figures(truth: Truth) {
  const records = (await zone.listRecords()).filter((r) => isNameRecord(r, range));
  const { addresses } = await book.read();
  const sidecars = double.objects('Sidecar') as unknown as Sidecar[];
  const wanted = new Set([...truth.declared.values()].flat().filter((i) => truth.services.has(i)).map(host));
  const recordOf = new Map(records.map((r) => [r.name, r]));
  const listeners = sidecars.flatMap((s) => (s.spec.egress ?? []).map((l) => ({ group: s.metadata.labels['ecsmesh.io/workload-group'], host: l.hosts[0]!.split('/')[1]!, bind: l.bind })));
  const pointedAt = records.flatMap((r) => r.addresses);
  return {
    'names wanted without their record': [...wanted].filter((h) => recordOf.get(h)?.addresses[0] !== addresses.get(h)).length,
    'records of names not wanted': records.filter((r) => !wanted.has(r.name)).length,
    'declared upstreams without their listener on the record\'s address': [...truth.declared].flatMap(([g, ups]) => ups.filter((i) => truth.services.has(i)).filter((i) => !listeners.some((l) => l.group === g && l.host === host(i) && l.bind === recordOf.get(host(i))?.addresses[0]))).length,
    'listeners of names not declared by their group': listeners.filter((l) => !(truth.declared.get(l.group ?? '') ?? []).some((i) => host(i) === l.host && truth.services.has(i))).length,
    'addresses of two names (records)': pointedAt.length - new Set(pointedAt).size,
    'addresses of two names (book)': addresses.size - new Set(addresses.values()).size,
    'Sidecars of groups that declare nothing': sidecars.filter((s) => !truth.declared.has(s.metadata.labels['ecsmesh.io/workload-group'] ?? '')).length,
  };
}

describe('mesh names under faults and drift', () => {
  it(`converges after ${ROUNDS} rounds of changes, hand edits and failing calls (seed ${SEED}): every figure 0, and a second refresh changes nothing`, async () => {
    const random = seededRandom(SEED);
    const truth: Truth = { declared: new Map(), services: new Set() };
    // Each service its own port: one port takes one upstream per group.
    const putService = (i: number) => {
      double.putService({ metadata: { name: `s${i}`, namespace: NAMESPACE }, spec: { ports: [{ name: 'tcp', port: 10_000 + i }] } });
      truth.services.add(i);
    };
    for (let i = 0; i < SERVICES; i++) putService(i);
    for (let g = 0; g < GROUPS; g++) setGroup(g, undefined);
    // Route53 fails a third of its calls at random.
    const faulty = { listRecords: () => (random.chance(0.3) ? Promise.reject(new Error('Route53 throttled')) : zone.listRecords()), change: (b: Parameters<typeof zone.change>[0]) => (random.chance(0.3) ? Promise.reject(new Error('Route53 throttled')) : zone.change(b)) };
    let failedRefreshes = 0;

    for (let round = 0; round < ROUNDS; round++) {
      for (let g = 0; g < GROUPS; g++) {
        if (!random.chance(0.5)) continue;
        const upstreams = random.chance(0.2) ? undefined : random.shuffle([...Array(SERVICES).keys()]).slice(0, random.int(0, 5));
        setGroup(g, upstreams);
        if (upstreams === undefined) truth.declared.delete(`g${g}`);
        else truth.declared.set(`g${g}`, upstreams);
      }
      if (random.chance(0.3)) {
        const i = random.int(0, SERVICES - 1);
        if (truth.services.has(i)) {
          double.deleteService(NAMESPACE, `s${i}`);
          truth.services.delete(i);
        } else putService(i);
      }
      // Hand edits: a record deleted or pointed elsewhere, a Sidecar deleted.
      const ours = (await zone.listRecords()).filter((r) => isNameRecord(r, range));
      const [deleteOne, repointOne] = [random.chance(0.3), random.chance(0.3)];
      if (ours.length > 0 && deleteOne) await zone.change([{ action: 'DELETE', record: random.pick(ours) }]);
      else if (ours.length > 0 && repointOne) await zone.change([{ action: 'UPSERT', record: { ...random.pick(ours), addresses: ['127.1.255.254'] } }]);
      const sidecars = double.objects('Sidecar');
      if (sidecars.length > 0 && random.chance(0.3)) double.adminDelete('Sidecar', NAMESPACE, (random.pick(sidecars).metadata as { name: string }).name);
      if (random.chance(0.2)) double.failNext(503, random.int(1, 3));

      await refreshMeshNames({ ...deps, zone: faulty }).catch(() => failedRefreshes++);
    }
    double.failNext(503, 0);
    const clean = await refreshMeshNames(deps);
    const again = await refreshMeshNames(deps);

    expect(failedRefreshes).toBeGreaterThan(0);
    expect(await figures(truth)).toEqual({
      'names wanted without their record': 0,
      'records of names not wanted': 0,
      "declared upstreams without their listener on the record's address": 0,
      'listeners of names not declared by their group': 0,
      'addresses of two names (records)': 0,
      'addresses of two names (book)': 0,
      'Sidecars of groups that declare nothing': 0,
    });
    expect(clean.refusedGroups).toEqual([]);
    expect({ recordChanges: again.recordChanges, sidecarsApplied: again.sidecarsApplied, sidecarsDeleted: again.sidecarsDeleted, allocated: again.allocated, freed: again.freed }).toEqual({ recordChanges: 0, sidecarsApplied: [], sidecarsDeleted: [], allocated: [], freed: [] });
  }, 120_000);
});
