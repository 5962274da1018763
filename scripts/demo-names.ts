/**
 * `npm run demo`, last part: mesh names. moto's Route53 holds the mesh's private hosted zone, the
 * Kubernetes API double the example's WorkloadGroup and bookinfo's Services, and the names
 * function (its handler, with the environment serverless.yml gives it) refreshes: the group
 * declares an upstream and its A record and Sidecar listener appear on one loopback address; one
 * more annotation entry adds another; dropping the declaration takes both away. The Sidecar passes
 * Istio's CRD (the double enforces it) and istiod's validation (the istiod model). Run by
 * scripts/demo.ts in a process of its own. Exits non-zero on a miss.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Route53Client } from '@aws-sdk/client-route-53';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { stringify } from 'yaml';
import { Route53NameZone } from '../shared/adapters/route53-name-zone.js';
import type { MeshNamesOutcome } from '../shared/app/refresh-mesh-names.js';
import type { Sidecar } from '../shared/core/mesh-names.js';
import { UPSTREAMS_ANNOTATION } from '../shared/core/upstream-declaration.js';
import { createEnrollmentTable, createMeshNamesZone } from '../local/bootstrap.js';
import { LOCAL_AWS_ENV, startMoto } from '../local/moto.js';
import { exampleIstioManifest } from '../test/support/example-task-entry.js';
import { validateSidecar } from '../test/support/istiod-model/validation.js';
import type { KubernetesObject } from '../test/support/kubernetes/apply-merge.js';
import { KubernetesApiDouble } from '../test/support/kubernetes-api-double.js';

const say = (title: string) => console.log(`\n\x1b[1m== ${title}\x1b[0m`);
const fail = (message: string): never => {
  throw new Error(`demo check failed: ${message}`);
};
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const TOKEN = 'demo-names-token';
const moto = await startMoto();
const double = await KubernetesApiDouble.start({ token: TOKEN });
try {
  const aws = { endpoint: moto.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY } };
  const table = 'ecs-mesh-enrollments';
  await createEnrollmentTable(new DynamoDBClient(aws), table);
  const { zoneId, vpcId: vpc } = await createMeshNamesZone(aws);
  const route53 = new Route53Client(aws);

  // The example's group without its declaration, to start from the default: nothing.
  const declared = exampleIstioManifest('workloadgroup.yaml') as KubernetesObject & { metadata: { annotations: Record<string, string> } };
  const { [UPSTREAMS_ANNOTATION]: mongodb, ...undeclared } = declared.metadata.annotations;
  double.seed({ ...declared, metadata: { ...declared.metadata, annotations: undeclared } });
  // bookinfo's databases (Istio's samples/bookinfo/platform/kube/bookinfo-db.yaml and bookinfo-mysql.yaml).
  double.putService({ metadata: { name: 'mongodb', namespace: 'bookinfo' }, spec: { ports: [{ name: 'mongo', port: 27017 }] } });
  double.putService({ metadata: { name: 'mysqldb', namespace: 'bookinfo' }, spec: { ports: [{ name: 'tcp', port: 3306 }] } });

  // The names function's handler with the environment serverless.yml gives it (its bearer token in
  // Secrets Manager, as meshK8sAuth=bearer deploys it), against the double and moto.
  await new SecretsManagerClient(aws).send(new CreateSecretCommand({ Name: 'ecs-mesh/demo/mesh-api-token', SecretString: TOKEN }));
  Object.assign(process.env, { ...LOCAL_AWS_ENV, AWS_ENDPOINT_URL: moto.endpoint, ENROLLMENT_TABLE: table, MESH_DNS_ZONE_ID: zoneId, MESH_API: 'kubernetes', MESH_K8S_URL: double.url, MESH_K8S_AUTH: 'bearer', MESH_K8S_TOKEN_SECRET_ID: 'ecs-mesh/demo/mesh-api-token', LOG_LEVEL: 'ERROR' });
  const { handler } = await import('../functions/names/handler.js');
  const refresh = async () => (await (handler as unknown as (e: unknown, c: unknown) => Promise<MeshNamesOutcome>)({ 'detail-type': 'Scheduled Event' }, { functionName: 'names' }));

  const zone = new Route53NameZone(route53, { zoneId });
  const records = async () => (await zone.listRecords()).filter((r) => r.name.endsWith('.bookinfo.svc.cluster.local'));
  const sidecar = () => double.objects('Sidecar')[0] as unknown as Sidecar | undefined;
  const setUpstreams = (upstreams: string | undefined) => {
    const live = double.objects('WorkloadGroup')[0]!;
    const annotations = { ...undeclared, ...(upstreams === undefined ? {} : { [UPSTREAMS_ANNOTATION]: upstreams }) };
    double.adminReplace({ ...live, metadata: { ...live.metadata, annotations } });
    console.log(`  kubectl -n bookinfo annotate workloadgroup ratings ${upstreams === undefined ? `${UPSTREAMS_ANNOTATION}-` : `--overwrite ${UPSTREAMS_ANNOTATION}=${upstreams}`}`);
  };
  /** Each record and the listener bound where it points, checked to be one address. */
  const show = async (expected: string[]) => {
    const listed = await records();
    const listeners = sidecar()?.spec.egress ?? [];
    for (const record of listed) {
      const listener = listeners.find((l) => l.hosts.includes(`bookinfo/${record.name}`));
      console.log(`  ${record.name}  A ${record.addresses.join(',')}  ←→  Sidecar listener ${listener ? `${listener.bind}:${listener.port.number} (${listener.port.protocol})` : '(none)'}`);
      if (listener?.bind !== record.addresses[0]) fail(`${record.name}: the record points at ${record.addresses[0]}, the listener binds ${listener?.bind ?? 'nothing'}`);
    }
    if (JSON.stringify(listed.map((r) => r.name).sort()) !== JSON.stringify(expected.sort())) fail(`records [${listed.map((r) => r.name).join(', ')}], expected [${expected.join(', ')}]`);
    if (listeners.length !== expected.length) fail(`${listeners.length} egress listeners, expected ${expected.length}`);
  };

  say('22. Mesh names: a group declares an upstream (moto\'s Route53 private zone, the Kubernetes API double)');
  console.log(`  private hosted zone svc.cluster.local (${zoneId}), associated with ${vpc}`);
  setUpstreams(mongodb);
  const first = await refresh();
  console.log(`  names refresh: ${first.allocated.length} allocated, ${first.recordChanges} record change(s) in ${first.changeCalls} call(s), Sidecar ${first.sidecarsApplied.join(', ')}`);
  await show(['mongodb.bookinfo.svc.cluster.local']);
  const written = sidecar() ?? fail('no Sidecar was written');
  const istiod = validateSidecar(written);
  if (istiod.errors.length + istiod.warnings.length > 0) fail(`istiod would say: ${[...istiod.errors, ...istiod.warnings].join('; ')}`);
  console.log('  the Sidecar passed Istio\'s CRD (the double) and istiod\'s validation (the istiod model):');
  console.log(stringify({ metadata: { name: written.metadata.name, namespace: written.metadata.namespace }, spec: written.spec }).replace(/^/gm, '    '));
  const again = await refresh();
  if (again.recordChanges + again.sidecarsApplied.length !== 0) fail('a refresh of an unchanged mesh changed something');
  console.log('  a second refresh changes nothing (one ListResourceRecordSets, no change call)');

  say('23. One more declaration: the app can call mysqldb.bookinfo.svc.cluster.local:3306');
  setUpstreams(`${mongodb},mysqldb.bookinfo.svc.cluster.local:3306`);
  await refresh();
  await show(['mongodb.bookinfo.svc.cluster.local', 'mysqldb.bookinfo.svc.cluster.local']);

  say('24. The declaration removed: the records, the listeners and the Sidecar go, and the addresses are freed');
  setUpstreams(undefined);
  const gone = await refresh();
  console.log(`  freed ${gone.freed.join(', ')}; Sidecars deleted: ${gone.sidecarsDeleted.join(', ')}`);
  await show([]);
  if (sidecar()) fail('the Sidecar is still there');
} finally {
  await double.stop();
  await moto.stop();
}
