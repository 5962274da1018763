/**
 * Mesh names end to end, against moto (Route53's private zone, the enrollment table) and the
 * Kubernetes API double (WorkloadGroups, Services, Sidecars): a group declares an upstream and
 * its record and listener appear with one address; both go away with the declaration; a refresh
 * of an unchanged mesh changes nothing; drift is repaired; a deleted Service's address is freed
 * only after its record is gone; a bad declaration keeps what the group had.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNamesHandler } from '../../functions/names/handler.js';
import { createEnrollmentTable } from '../../local/bootstrap.js';
import { DynamoDbNameAddressBook } from '../../shared/adapters/dynamodb-name-addresses.js';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import { buildMeshNamesDeps } from '../../shared/adapters/mesh-names-wiring.js';
import { Route53NameZone } from '../../shared/adapters/route53-name-zone.js';
import { refreshMeshNames, type MeshNamesDeps } from '../../shared/app/refresh-mesh-names.js';
import { loadConfig } from '../../shared/config.js';
import type { WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { NAME_TTL_SECONDS, type Sidecar, type ZoneRecord } from '../../shared/core/mesh-names.js';
import { NAME_REASONS } from '../../shared/core/reasons.js';
import { APP_PORT_ANNOTATION, UPSTREAMS_ANNOTATION } from '../../shared/core/upstream-declaration.js';
import { asFunction } from '../support/aws-call-recorder.js';
import { validateSidecar } from '../support/istiod-model/validation.js';
import { KubernetesApiDouble } from '../support/kubernetes-api-double.js';
import { localAwsConfig } from '../support/local-aws.js';
import { MemoryLog } from '../support/memory-log.js';

const TOKEN = 'names-test-token';
const MONGODB = 'mongodb.bookinfo.svc.cluster.local';
const REVIEWS = 'reviews.bookinfo.svc.cluster.local';

let double: KubernetesApiDouble;
let doc: DynamoDBDocumentClient;
let route53: Route53Client;
let vpcId: string;
let zoneId: string;
let table: string;
let deps: MeshNamesDeps;
let runs = 0;

function aGroup(annotations: Record<string, string> | undefined): WorkloadGroup {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadGroup',
    metadata: { name: 'ratings', namespace: 'bookinfo', labels: { app: 'ratings' }, ...(annotations ? { annotations } : {}) },
    spec: { metadata: { labels: { app: 'ratings', 'ecsmesh.io/platform': 'ecs' } }, template: { serviceAccount: 'bookinfo-ratings', ports: { http: 9080 } } },
  };
}

const declaring = (upstreams: string) => aGroup({ [UPSTREAMS_ANNOTATION]: upstreams, [APP_PORT_ANNOTATION]: '8080' });
const service = (name: string, port: number, portName: string) => ({ metadata: { name, namespace: 'bookinfo' }, spec: { ports: [{ name: portName, port }] } });

/** The names function's scope for the IAM check: its role, resolved with this test's table and zone. */
const asNames = <T>(fn: () => Promise<T>) => asFunction({ fn: 'names', names: { EnrollmentTable: table }, params: { MeshNamesZoneId: zoneId.replace(/^\/hostedzone\//, '') } }, fn);
const refresh = () => asNames(() => refreshMeshNames(deps));

/** Replaces the group as an operator's kubectl would. */
function setGroup(group: WorkloadGroup): void {
  const live = double.objects('WorkloadGroup').find((g) => (g.metadata as { name: string }).name === 'ratings');
  if (live) double.adminReplace({ ...group, metadata: { ...group.metadata, resourceVersion: (live.metadata as { resourceVersion: string }).resourceVersion } } as never);
  else double.seed(group as never);
}

const records = async (): Promise<ZoneRecord[]> => (await new Route53NameZone(route53, { zoneId, sleep: async () => undefined }).listRecords()).filter((r) => r.name.endsWith('.bookinfo.svc.cluster.local'));
const sidecars = () => double.objects('Sidecar') as unknown as Sidecar[];
const book = async () => (await new DynamoDbNameAddressBook(doc, table).read()).addresses;

beforeAll(async () => {
  double = await KubernetesApiDouble.start({ token: TOKEN });
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(localAwsConfig()));
  route53 = new Route53Client(localAwsConfig());
  vpcId = (await new EC2Client(localAwsConfig()).send(new CreateVpcCommand({ CidrBlock: '10.41.0.0/16' }))).Vpc!.VpcId!;
});
afterAll(() => double.stop());

beforeEach(async () => {
  // A fresh zone, table and mesh objects per test: moto's outlive a run.
  table = `names-e2e-${process.pid}-${Date.now()}-${runs++}`;
  await createEnrollmentTable(new DynamoDBClient(localAwsConfig()), table);
  zoneId = (await route53.send(new CreateHostedZoneCommand({ Name: 'svc.cluster.local', CallerReference: table, VPC: { VPCId: vpcId, VPCRegion: 'us-east-1' }, HostedZoneConfig: { PrivateZone: true } }))).HostedZone!.Id!;
  for (const kind of ['WorkloadGroup', 'Sidecar'] as const) for (const o of double.objects(kind)) double.adminDelete(kind, 'bookinfo', (o.metadata as { name: string }).name);
  double.deleteService('bookinfo', 'mongodb');
  double.deleteService('bookinfo', 'reviews');
  double.putService(service('mongodb', 27017, 'mongo'));
  double.putService(service('reviews', 9443, 'http'));
  const config = loadConfig('names', { ...localEnv(), MESH_DNS_ZONE_ID: zoneId.replace(/^\/hostedzone\//, ''), ENROLLMENT_TABLE: table, MESH_API: 'kubernetes', MESH_K8S_URL: double.url, MESH_K8S_TOKEN_SECRET_ID: 'unused' });
  deps = buildMeshNamesDeps(config, new MemoryLog(), { dynamo: doc, secrets: undefined as never }, new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000 }), new Route53Client({ ...localAwsConfig() }))!;
  // No real waits: the pace is kept on a clock that the waits advance.
  let nowMs = 0;
  deps.zone = new Route53NameZone(new Route53Client(localAwsConfig()), { zoneId, now: () => nowMs, sleep: async (ms) => void (nowMs += ms) });
});

const localEnv = () => ({ AWS_ENDPOINT_URL: localAwsConfig().endpoint, AWS_REGION: 'us-east-1' });

describe('refreshMeshNames', () => {
  it('gives a declared upstream a record and a listener on one address, and takes both away with the declaration', async () => {
    setGroup(declaring(MONGODB));

    const first = await refresh();

    const [record] = await records();
    expect(record).toEqual({ name: MONGODB, ttl: NAME_TTL_SECONDS, addresses: [expect.stringMatching(/^127\.1\./)] });
    const [sidecar] = sidecars();
    expect(sidecar?.metadata.name).toBe('ratings-ecs');
    expect(sidecar?.spec.egress).toEqual([{ port: { number: 27017, protocol: 'MONGO', name: 'mongo-mongodb-27017' }, bind: record!.addresses[0], captureMode: 'NONE', hosts: [`bookinfo/${MONGODB}`] }]);
    expect(validateSidecar(sidecar!)).toEqual({ errors: [], warnings: [] });
    expect(first).toMatchObject({ names: 1, allocated: [MONGODB], recordChanges: 1, changeCalls: 1, sidecarsApplied: ['bookinfo/ratings-ecs'] });

    setGroup(aGroup(undefined));
    const gone = await refresh();

    expect(await records()).toEqual([]);
    expect(sidecars()).toEqual([]);
    expect(await book()).toEqual(new Map());
    expect(gone).toMatchObject({ names: 0, freed: [MONGODB], recordChanges: 1, sidecarsDeleted: ['bookinfo/ratings-ecs'] });
  });

  it('changes nothing on a second refresh, and keeps every address across passes', async () => {
    setGroup(declaring(`${MONGODB},${REVIEWS}`));
    await refresh();
    const addresses = await book();

    const again = await refresh();

    expect(again).toMatchObject({ allocated: [], freed: [], recordChanges: 0, changeCalls: 0, sidecarsApplied: [], sidecarsDeleted: [] });
    expect(await book()).toEqual(addresses);
    expect(new Set(addresses.values()).size).toBe(2);
  });

  it('repairs a record and a Sidecar changed by hand', async () => {
    setGroup(declaring(MONGODB));
    await refresh();
    const [record] = await records();
    await deps.zone.change([{ action: 'DELETE', record: record! }]);
    double.adminDelete('Sidecar', 'bookinfo', 'ratings-ecs');

    const repaired = await refresh();

    expect(repaired).toMatchObject({ recordChanges: 1, sidecarsApplied: ['bookinfo/ratings-ecs'], allocated: [] });
    expect(await records()).toEqual([record]);
    expect(sidecars()[0]?.spec.egress?.[0]?.bind).toBe(record!.addresses[0]);
  });

  it('frees a deleted Service\'s address only after its record is gone', async () => {
    setGroup(declaring(MONGODB));
    await refresh();
    const address = (await book()).get(MONGODB);
    double.deleteService('bookinfo', 'mongodb');
    // Route53 fails the delete: the record stays, and so must the address.
    const zone = deps.zone;
    deps.zone = { listRecords: () => zone.listRecords(), change: () => Promise.reject(new Error('Route53 is down')) };

    await expect(refresh()).rejects.toThrow('Route53 is down');
    expect((await book()).get(MONGODB)).toBe(address);
    expect((await records()).map((r) => r.addresses[0])).toEqual([address]);

    deps.zone = zone;
    const after = await refresh();
    expect(after).toMatchObject({ freed: [MONGODB], names: 0 });
    expect(await records()).toEqual([]);
    expect(await book()).toEqual(new Map());
    expect(after.refusedUpstreams).toEqual([expect.objectContaining({ host: MONGODB, reason: NAME_REASONS.UPSTREAM_SERVICE_NOT_FOUND })]);
  });

  it('gives no name to an upstream that gets no listener: a record with nothing behind it would only refuse connections', async () => {
    double.putService({ metadata: { name: 'legacy', namespace: 'bookinfo' }, spec: { ports: [{ name: 'http', port: 80 }] } });
    setGroup(declaring(`${MONGODB},legacy.bookinfo.svc.cluster.local`));

    const outcome = await refresh();

    expect(outcome.refusedUpstreams).toEqual([expect.objectContaining({ host: 'legacy.bookinfo.svc.cluster.local', port: 80, reason: NAME_REASONS.UPSTREAM_PORT_PRIVILEGED })]);
    expect((await records()).map((r) => r.name)).toEqual([MONGODB]);
    expect([...(await book()).keys()]).toEqual([MONGODB]);
    double.deleteService('bookinfo', 'legacy');
  });

  it('keeps the Sidecar and the names of a group whose declaration turned bad, and says why', async () => {
    setGroup(declaring(MONGODB));
    await refresh();
    const before = { records: await records(), sidecars: sidecars() };

    setGroup(declaring('mongodb'));
    const refused = await refresh();

    expect(refused.refusedGroups).toEqual([expect.objectContaining({ group: 'bookinfo/ratings', reason: NAME_REASONS.UPSTREAMS_INVALID })]);
    expect(await records()).toEqual(before.records);
    expect(sidecars()).toEqual(before.sidecars);
  });

  it('runs as the names handler, and does nothing when mesh names are off (no zone)', async () => {
    setGroup(declaring(MONGODB));
    const logger = new Logger({ logLevel: 'SILENT' });
    const metrics = new Metrics({ namespace: 'test', serviceName: 'names' });
    const invoke = (handler: unknown) => asNames(() => (handler as (e: unknown, c: unknown) => Promise<unknown>)({ 'detail-type': 'Scheduled Event' }, { functionName: 'names' }));

    expect(await invoke(createNamesHandler(undefined, logger, metrics))).toEqual({ off: true });
    expect(await records()).toEqual([]);
    expect(await invoke(createNamesHandler(deps, logger, metrics))).toMatchObject({ names: 1, allocated: [MONGODB] });
    expect((await records()).map((r) => r.name)).toEqual([MONGODB]);
  });
});
