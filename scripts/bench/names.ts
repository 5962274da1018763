/**
 * Bench section `names` (issue 22): what mesh names cost Route53 at 1,000 names, with the names
 * function's deps (buildMeshNamesDeps, the names ClusterRole on the Kubernetes API double) on moto.
 * 100 groups each declare 10 of 1,000 Services; then
 *   - the first refresh writes every name: its Route53 calls (list pages, change calls);
 *   - a refresh of the unchanged mesh: list pages only, no change call;
 *   - a change (one group declares one more upstream): the list pages and one change call;
 *   - every request of the three at the deployed pace: the busiest second, held under Route53's 5.
 * Route53's calls are counted at the client; the pace runs on a virtual clock its waits advance.
 */
import { join } from 'node:path';
import { Route53Client } from '@aws-sdk/client-route-53';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import { buildMeshNamesDeps } from '../../shared/adapters/mesh-names-wiring.js';
import { Route53NameZone } from '../../shared/adapters/route53-name-zone.js';
import { refreshMeshNames, type MeshNamesOutcome } from '../../shared/app/refresh-mesh-names.js';
import { loadConfig } from '../../shared/config.js';
import { ROUTE53_REQUESTS_PER_SECOND } from '../../shared/core/request-pace.js';
import { APP_PORT_ANNOTATION, UPSTREAMS_ANNOTATION } from '../../shared/core/upstream-declaration.js';
import { createEnrollmentTable, createMeshNamesZone } from '../../local/bootstrap.js';
import { LOCAL_AWS_ENV, startMoto } from '../../local/moto.js';
import { KubernetesApiDouble } from '../../test/support/kubernetes-api-double.js';
import { clusterRolesIn } from '../../test/support/kubernetes/rbac.js';
import type { BenchRow, BenchSection } from './row.js';

const SERVICES = 1000;
const GROUPS = 100;
const PER_GROUP = SERVICES / GROUPS;
/** ListResourceRecordSets answers at most 300 records a page; the zone also holds its NS and SOA. */
const LIST_PAGE = 300;
const TOKEN = 'bench-names-token';

export const namesSection: BenchSection = { name: 'names', run };

const host = (i: number) => `s${i}.bench${i % GROUPS}.svc.cluster.local`;

async function run(): Promise<BenchRow[]> {
  const moto = await startMoto();
  const rbac = clusterRolesIn(join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes', 'rbac.yaml')).get('ecs-mesh-onboarding-names');
  const double = await KubernetesApiDouble.start({ token: TOKEN, rbac });
  try {
    const aws = { endpoint: moto.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY } };
    const table = 'bench-names';
    await createEnrollmentTable(new DynamoDBClient(aws), table);
    const { zoneId } = await createMeshNamesZone(aws);

    // Service i lives in namespace bench<i % 100> on port 10000 + i: group g declares its namespace's 10.
    for (let i = 0; i < SERVICES; i++) double.putService({ metadata: { name: `s${i}`, namespace: `bench${i % GROUPS}` }, spec: { ports: [{ name: 'tcp', port: 10_000 + i }] } });
    const declared = (g: number, extra: string[] = []) => [...Array.from({ length: PER_GROUP }, (_, k) => host(g + k * GROUPS)), ...extra].join(',');
    for (let g = 0; g < GROUPS; g++) {
      double.seed({
        apiVersion: 'networking.istio.io/v1',
        kind: 'WorkloadGroup',
        metadata: { name: `g${g}`, namespace: `bench${g}`, annotations: { [UPSTREAMS_ANNOTATION]: declared(g), [APP_PORT_ANNOTATION]: '8080' } },
        spec: { template: { serviceAccount: `g${g}`, ports: { http: 9080 } } },
      });
    }

    const config = loadConfig('names', { ...LOCAL_AWS_ENV, AWS_ENDPOINT_URL: moto.endpoint, ENROLLMENT_TABLE: table, MESH_DNS_ZONE_ID: zoneId, MESH_API: 'kubernetes', MESH_K8S_URL: double.url, MESH_K8S_TOKEN_SECRET_ID: 'unused' });
    const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const deps = buildMeshNamesDeps(config, quiet, { dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(aws)), secrets: undefined as never }, new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 10_000 }))!;
    // The deployed pace, on a virtual clock: every request's time is its slot, and no real waits.
    let nowMs = 0;
    const sent: Array<{ at: number; command: string }> = [];
    const counted = new Route53Client(aws);
    counted.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push({ at: nowMs, command: String(context.commandName) });
        return next(args);
      },
      { step: 'initialize', name: 'benchCountRoute53Calls' },
    );
    deps.zone = new Route53NameZone(counted, { zoneId, now: () => nowMs, sleep: async (ms) => void (nowMs += ms) });

    const measure = async (): Promise<{ outcome: MeshNamesOutcome; lists: number; changes: number }> => {
      const from = sent.length;
      const outcome = await refreshMeshNames(deps);
      const calls = sent.slice(from);
      return { outcome, lists: calls.filter((c) => c.command === 'ListResourceRecordSetsCommand').length, changes: calls.filter((c) => c.command === 'ChangeResourceRecordSetsCommand').length };
    };
    const first = await measure();
    const unchanged = await measure();
    const live = double.objects('WorkloadGroup').find((g) => (g.metadata as { name: string }).name === 'g0')!;
    double.putService({ metadata: { name: 'extra', namespace: 'bench0' }, spec: { ports: [{ name: 'tcp', port: 20_000 }] } });
    const annotations = { ...(live.metadata.annotations as Record<string, string>), [UPSTREAMS_ANNOTATION]: declared(0, ['extra.bench0.svc.cluster.local']) };
    double.adminReplace({ ...live, metadata: { ...live.metadata, annotations } });
    const change = await measure();

    const pages = Math.ceil((SERVICES + 2) / LIST_PAGE);
    const busiest = Math.max(...sent.map((c) => sent.filter((d) => d.at >= c.at && d.at < c.at + 1000).length));
    const calls = (m: { lists: number; changes: number }) => `${m.lists + m.changes} (${m.lists} list, ${m.changes} change)`;
    return [
      {
        measure: `Route53 calls, first refresh of ${SERVICES} names`,
        now: calls(first),
        goal: `≤ ${1 + 2} (an empty zone's page, ${SERVICES} UPSERTs in 2 batches)`,
        meets: first.lists + first.changes <= 3 && first.outcome.names === SERVICES,
        data: { lists: first.lists, changes: first.changes, names: first.outcome.names, sidecars: first.outcome.sidecarsApplied.length },
      },
      {
        measure: `Route53 calls per refresh at ${SERVICES} names (nothing changed)`,
        now: calls(unchanged),
        goal: `≤ ${pages} list pages, no change call`,
        meets: unchanged.changes === 0 && unchanged.lists <= pages,
        data: { lists: unchanged.lists, changes: unchanged.changes },
      },
      {
        measure: `Route53 calls per change at ${SERVICES} names (one upstream declared)`,
        now: calls(change),
        goal: `≤ ${pages} list pages + 1 change call`,
        meets: change.changes === 1 && change.lists <= pages && change.outcome.recordChanges === 1,
        data: { lists: change.lists, changes: change.changes, recordChanges: change.outcome.recordChanges },
      },
      {
        measure: 'Route53 requests in the busiest second',
        now: String(busiest),
        goal: `≤ ${ROUTE53_REQUESTS_PER_SECOND} (Route53 allows 5 per account)`,
        meets: busiest <= ROUTE53_REQUESTS_PER_SECOND,
        data: { busiest, requests: sent.length },
      },
    ];
  } finally {
    await double.stop();
    await moto.stop();
  }
}
