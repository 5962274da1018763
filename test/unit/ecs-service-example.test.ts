// examples/ecs-service/: the Istio manifests pass the vendored CRDs, the Sidecar the names
// function writes from the group's declaration passes the CRD and istiod's validation, the policy
// admits the template's task role into the group, and the template wires the three containers as
// docs/onboard-a-service.md says (cfn-lint runs on it in test/integration/ecs-service-template.test.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { CFN_TAGS } from '../support/example-task-definition.js';
import { resolve, type Template } from '../support/cloudformation.js';
import { readServerlessConfig } from '../support/serverless-config.js';
import { createCrdValidator } from '../../shared/core/crd-validation.js';
import { evaluatePolicy, type GroupFacts } from '../../shared/core/policy.js';
import { OnboardingPolicySchema } from '../../shared/core/schemas.js';
import { ServiceTokenDocumentSchema } from '../../shared/core/service-token.js';
import { readIstioCrdSchemas } from '../support/kubernetes/istio-crd-validators.js';
import { anIdentity } from '../fixtures/builders.js';
import type { WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { parseLoopbackRange, chooseAddress, type LoopbackRange } from '../../shared/core/loopback-addresses.js';
import { planListeners, renderSidecar, type MeshService } from '../../shared/core/mesh-names.js';
import { readGroupDeclaration } from '../../shared/core/upstream-declaration.js';
import { validateSidecar } from '../support/istiod-model/validation.js';

const dir = fileURLToPath(new URL('../../examples/ecs-service/', import.meta.url));
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const manifests = ['workloadgroup.yaml', 'service.yaml'].flatMap((file) => parseAllDocuments(readFileSync(`${dir}istio/${file}`, 'utf8')).map((d) => ({ file, doc: d.toJS() as Json })));
const ofKind = (kind: string) => manifests.find((m) => m.doc.kind === kind)!.doc;
const group = ofKind('WorkloadGroup');
const service = ofKind('Service');

/** bookinfo's mongodb Service (Istio's samples/bookinfo/platform/kube/bookinfo-db.yaml), which the group declares. */
const MONGODB: MeshService = { namespace: 'bookinfo', name: 'mongodb', ports: [{ port: 27017, name: 'mongo' }] };
const declaration = readGroupDeclaration(group as WorkloadGroup, 'svc.cluster.local');
if (!declaration.declared || !declaration.ok) throw new Error(`the example group's declaration does not read: ${JSON.stringify(declaration)}`);
const range = (parseLoopbackRange('127.1.0.0/16') as { range: LoopbackRange }).range;
const mongodbHost = 'mongodb.bookinfo.svc.cluster.local';
const plan = planListeners(group as WorkloadGroup, declaration.upstreams, new Map([[mongodbHost, MONGODB]]), new Map([[mongodbHost, chooseAddress(range, mongodbHost, new Set())!]]));
/** The Sidecar the names function writes for the example group. */
const sidecar = renderSidecar(group as WorkloadGroup, declaration.appPort, plan.listeners) as Json;

const template = parseYaml(readFileSync(`${dir}template.yaml`, 'utf8'), { customTags: CFN_TAGS }) as Json;
const resources = template.Resources as Record<string, Json>;
const containers = resources.TaskDefinition!.Properties.ContainerDefinitions as Json[];
const container = (name: string) => containers.find((c) => c.Name === name)!;
const env = (c: Json) => Object.fromEntries((c.Environment as Json[]).filter((e) => e.Name).map((e) => [e.Name, e.Value]));
const dockerfile = readFileSync(fileURLToPath(new URL('../../deploy/agent/Dockerfile', import.meta.url)), 'utf8');

describe('examples/ecs-service/istio', () => {
  it.each(manifests.filter((m) => m.doc.apiVersion === 'networking.istio.io/v1').map((m) => ({ kind: m.doc.kind as string, file: m.file, doc: m.doc })))(
    '$file: the $kind passes the vendored Istio CRD',
    ({ kind, doc }) => {
      const schema = readIstioCrdSchemas()[kind];
      expect(schema, kind).toBeDefined();

      const result = createCrdValidator(schema!, { apiVersion: 'networking.istio.io/v1', kind })(doc);

      expect(result).toEqual({ ok: true });
    },
  );

  it("declares its upstream on the group, whose Sidecar the CRD and istiod's validation accept", () => {
    expect(plan.refused).toEqual([]);
    expect(sidecar.spec.egress.map((l: Json) => l.hosts)).toEqual([[`bookinfo/${mongodbHost}`]]);
    expect(readIstioCrdSchemas().Sidecar).toBeDefined();
    expect(createCrdValidator(readIstioCrdSchemas().Sidecar!, { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar' })(sidecar)).toEqual({ ok: true });
    expect(validateSidecar(sidecar as never)).toEqual({ errors: [], warnings: [] });
  });

  it('holds a WorkloadGroup and a Service of one service, and the Sidecar written for the group takes traffic without interception', () => {
    const entryLabels = { ...group.spec.template.labels, ...group.spec.metadata.labels };

    expect(manifests.map((m) => m.doc.kind).sort()).toEqual(['Service', 'WorkloadGroup']);
    expect(new Set(manifests.map((m) => m.doc.metadata.namespace))).toEqual(new Set([group.metadata.namespace]));
    // The Sidecar applies to the tasks' proxies, and every listener takes traffic without iptables.
    expect(entryLabels).toMatchObject(sidecar.spec.workloadSelector.labels);
    for (const listener of [...sidecar.spec.ingress, ...sidecar.spec.egress]) expect(listener.captureMode).toBe('NONE');
    // The mesh port is the group's, the Service's and the ingress listener's.
    const meshPort = Object.values(group.spec.template.ports as Record<string, number>)[0];
    expect(sidecar.spec.ingress.map((l: Json) => l.port.number)).toEqual([meshPort]);
    expect(service.spec.ports.map((p: Json) => p.port)).toEqual([meshPort]);
    expect(entryLabels).toMatchObject(service.spec.selector);
    // Egress listeners bind loopback on other ports than the ingress, which binds every address.
    for (const listener of sidecar.spec.egress) {
      expect(listener.bind).toMatch(/^127\./);
      expect(listener.port.number).not.toBe(meshPort);
    }
  });

  it('matches the template: ports, the service account and the labels the proxy announces', () => {
    const params = template.Parameters as Record<string, Json>;
    const proxy = env(container('istio-proxy'));
    const announced = JSON.parse((proxy.ISTIO_METAJSON_LABELS['Fn::Sub'] as string).replace('${WorkloadGroupName}', group.metadata.name)) as Record<string, string>;

    expect(Object.values(group.spec.template.ports)).toEqual([params.MeshPort!.Default]);
    expect(sidecar.spec.ingress[0].defaultEndpoint).toBe(`127.0.0.1:${params.AppPort!.Default}`);
    expect(group.spec.probe.tcpSocket).toEqual({ host: '127.0.0.1', port: params.AppPort!.Default });
    expect(env(container('app')).BIND_ADDRESS).toEqual({ 'Fn::Sub': '127.0.0.1:${AppPort}' });
    expect(announced).toMatchObject(sidecar.spec.workloadSelector.labels);
    // The app calls its upstream by the mesh name the group declares, on the listener's port.
    const upstream = new URL(env(container('app')).MONGO_DB_URL as string);
    expect(`${upstream.hostname}:${upstream.port}`).toBe(`${mongodbHost}:${sidecar.spec.egress[0].port.number}`);
  });
});

describe('examples/ecs-service/policy.yaml', () => {
  it('admits a task of the template, whose role carries the policy tag, into the group, and no other', () => {
    const policy = OnboardingPolicySchema.parse(parseYaml(readFileSync(`${dir}policy.yaml`, 'utf8')));
    const params = template.Parameters as Record<string, Json>;
    const facts: GroupFacts = { namespace: group.metadata.namespace, name: group.metadata.name, labels: group.metadata.labels };
    const tagged = anIdentity({ roleTags: { [params.PolicyTagKey!.Default]: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' } });

    expect(policy.metadata.namespace).toBe(group.metadata.namespace);
    expect(evaluatePolicy([{ name: policy.metadata.name, policy }], tagged, facts).allowed).toBe(true);
    expect(evaluatePolicy([{ name: policy.metadata.name, policy }], anIdentity({ roleTags: {} }), facts).allowed).toBe(false);
  });
});

describe('examples/ecs-service/template.yaml', () => {
  it('tags the task role with the group and the policy tag, and gives it no permission', () => {
    const role = resources.TaskRole!.Properties;

    expect(role.Tags).toEqual([
      { Key: 'ecsmesh.io/workload-group', Value: { 'Fn::Sub': '${WorkloadGroupNamespace}/${WorkloadGroupName}' } },
      { Key: { Ref: 'PolicyTagKey' }, Value: { Ref: 'PolicyTagValue' } },
    ]);
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([expect.objectContaining({ Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' })]);
    expect(role).not.toHaveProperty('Policies');
    expect(role).not.toHaveProperty('ManagedPolicyArns');
  });

  it('lets the execution role read the service token secret and no other secret', () => {
    const [, inHub] = resources.ExecutionRole!.Properties.Policies['Fn::If'] as [string, Json[], Json];
    const statements = inHub.flatMap((p) => p.PolicyDocument.Statement as Json[]);
    const [, byArn, byName] = statements[0]!.Resource['Fn::If'] as [string, Json, Json];

    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue' });
    expect(byArn).toEqual({ Ref: 'TokenSecretArn' });
    // The control plane's name for it (SecretsManagerTokenVault.secretName) plus Secrets Manager's suffix.
    expect(byName['Fn::Sub']).toBe('arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${TokenSecretPrefix}/${WorkloadGroupNamespace}/${WorkloadGroupName}-??????');
  });

  it("injects the service token by the secret's JSON key token", () => {
    const [secret] = container('istio-proxy').Secrets['Fn::If'][1] as Json[];
    const [, byArn, byName] = secret!.ValueFrom['Fn::If'] as [string, Json, Json];

    expect(Object.keys(ServiceTokenDocumentSchema.shape)).toContain('token');
    expect(byArn['Fn::Sub']).toBe('${TokenSecretArn}:token::');
    expect(byName['Fn::Sub']).toMatch(/:secret:\$\{TokenSecretPrefix\}\/\$\{WorkloadGroupNamespace\}\/\$\{WorkloadGroupName\}:token::$/);
  });

  it.each([
    { case: 'in the control plane account (by default)', params: {} as Record<string, string>, secret: true },
    { case: 'in the control plane account, named', params: { ControlPlaneAccountId: '111122223333' }, secret: true },
    { case: "in a hub's member account", params: { ControlPlaneAccountId: '999988887777' }, secret: false },
  ])('reads the service token secret only $case: a member task has the per-task token alone', ({ params, secret }) => {
    // test/support/cloudformation.ts resolves AWS::AccountId to 111122223333.
    const resolved = resolve({ role: resources.ExecutionRole!.Properties, proxy: container('istio-proxy') }, template as Template, { params });

    expect(resolved.role.Policies?.flatMap((p: Json) => p.PolicyDocument.Statement.map((s: Json) => s.Action)) ?? []).toEqual(secret ? ['secretsmanager:GetSecretValue'] : []);
    expect((resolved.proxy.Secrets ?? []).map((s: Json) => s.Name)).toEqual(secret ? ['MESH_TOKEN'] : []);
    // What the proxy authenticates with either way: the agent's per-task token file.
    expect(resolved.proxy.Environment).toContainEqual({ Name: 'JWT_POLICY', Value: 'third-party-jwt' });
  });

  it('starts the agent first, the proxy once the agent is healthy, the app once the proxy started', () => {
    expect(containers.map((c) => c.Name)).toEqual(['agent', 'istio-proxy', 'app']);
    expect(container('agent').DependsOn).toBeUndefined();
    expect(container('istio-proxy').DependsOn).toEqual([{ ContainerName: 'agent', Condition: 'HEALTHY' }]);
    expect(container('app').DependsOn).toEqual([{ ContainerName: 'istio-proxy', Condition: 'START' }]);
    for (const c of containers) expect(c.Essential, c.Name).toBe(true);
  });

  it('has the agent write the token on the shared volume where istio-agent reads it, as the proxy user', () => {
    const agent = container('agent');
    const proxy = container('istio-proxy');
    const agentMount = agent.MountPoints[0];
    const proxyMount = proxy.MountPoints[0];

    expect(resources.TaskDefinition!.Properties.Volumes).toEqual([{ Name: agentMount.SourceVolume }]);
    expect(proxyMount).toEqual({ SourceVolume: agentMount.SourceVolume, ContainerPath: agentMount.ContainerPath, ReadOnly: true });
    // istio-agent's third-party JWT path (pilot/pkg/security/model: ThirdPartyJwtPath).
    expect(env(agent).ONBOARDING_TOKEN_PATH).toBe('/var/run/secrets/tokens/istio-token');
    expect(env(agent).ONBOARDING_TOKEN_PATH.startsWith(`${agentMount.ContainerPath}/`)).toBe(true);
    expect(env(proxy).JWT_POLICY).toBe('third-party-jwt');
    // The token file is 0400: the agent runs as the proxy's user, the image's default.
    expect(agent.User).toBe(proxy.User);
    expect(dockerfile).toMatch(new RegExp(`^USER ${agent.User}$`, 'm'));
    expect(dockerfile).toContain(`ONBOARDING_TOKEN_PATH=${env(agent).ONBOARDING_TOKEN_PATH}`);
  });

  it("checks the agent's health the way its image does", () => {
    const healthcheck = /^HEALTHCHECK .*CMD (\[.*\])$/m.exec(dockerfile)![1]!;

    expect(container('agent').HealthCheck.Command).toEqual(['CMD', ...(JSON.parse(healthcheck) as string[])]);
  });

  it('runs the proxy without interception, trusting the root CA its command writes', () => {
    const proxy = container('istio-proxy');
    const vars = env(proxy);
    const [command] = proxy.Command as string[];

    expect(JSON.parse(vars.PROXY_CONFIG['Fn::Sub'])).toEqual({ discoveryAddress: '${IstiodAddress}', interceptionMode: 'NONE' });
    expect(vars.XDS_ROOT_CA).toBe(vars.CA_ROOT_CA);
    expect(command).toContain(`base64 -d > ${vars.XDS_ROOT_CA} && exec /usr/local/bin/pilot-agent proxy sidecar --meshConfig /var/run/secrets/tokens/mesh-config.yaml`);
    expect(command).toContain(". /var/run/secrets/tokens/workload-entry.env;");
    expect(vars.ISTIO_META_DNS_CAPTURE).toBe('false');
  });

  it('points the agent at the exchange with the deployment server ID', () => {
    const agent = env(container('agent'));
    const [config, vars] = agent.ONBOARDING_CONFIG['Fn::Sub'] as [string, Json];

    expect(JSON.parse(config.replace('${Host}', 'abc.execute-api.us-east-1.amazonaws.com').replace(/\$\{(\w+)\}/g, 'x'))).toEqual({
      onboardingEndpoint: { host: 'abc.execute-api.us-east-1.amazonaws.com', port: 443 },
      workloadGroup: { namespace: 'x', name: 'x' },
    });
    expect(vars.Host).toEqual({ 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'HttpApiUrl' }] }] });
    expect(agent.ONBOARDING_SERVER_ID).toEqual({ Ref: 'AuthAudience' });
  });

  it('propagates the task definition tags (the group tag) to every task', () => {
    const definition = resources.TaskDefinition!.Properties;
    const svc = resources.Service!.Properties;

    expect(definition.NetworkMode).toBe('awsvpc');
    expect(definition.Tags).toEqual([{ Key: 'ecsmesh.io/workload-group', Value: { 'Fn::Sub': '${WorkloadGroupNamespace}/${WorkloadGroupName}' } }]);
    expect(svc).toMatchObject({ PropagateTags: 'TASK_DEFINITION', EnableECSManagedTags: true, TaskDefinition: { Ref: 'TaskDefinition' } });
  });
});

describe('docs/onboard-a-service.md: Put an ECS service in the mesh', () => {
  const guide = readFileSync(fileURLToPath(new URL('../../docs/onboard-a-service.md', import.meta.url)), 'utf8');
  const section = guide.slice(0, guide.indexOf('\n## Coming from TSB or Kong Mesh'));
  const deploy = /aws cloudformation deploy [^`]*?(?=\n```)/.exec(section)![0].replace(/\\\n/g, ' ');

  it('deploys the template with parameters it has, giving every one without a default', () => {
    const params = template.Parameters as Record<string, Json>;
    const given = [...deploy.slice(deploy.indexOf('--parameter-overrides')).matchAll(/\s([A-Za-z][A-Za-z0-9]*)=/g)].map((m) => m[1]!);

    expect(deploy).toContain('--template-file examples/ecs-service/template.yaml');
    expect(given.filter((name) => !(name in params))).toEqual([]);
    expect(Object.keys(params).filter((name) => !('Default' in params[name]!) && !given.includes(name))).toEqual([]);
    // The outputs it reads from the control plane exist there.
    const outputs = [...deploy.matchAll(/\$\(out (\w+)\)/g)].map((m) => m[1]!);
    const declared = readServerlessConfig().resources.Outputs;
    for (const output of outputs.filter((o) => o !== 'HttpApiUrl')) expect(declared[output], output).toMatchObject({ Description: expect.any(String), Value: expect.anything() });
    expect(outputs).toEqual(['HttpApiUrl', 'AuthAudience', 'TokenSecretPrefix']);
  });

  it('applies the Istio manifests and the policy the example ships', () => {
    expect(section).toContain('kubectl apply -f examples/ecs-service/istio/');
    expect(section).toContain('policy apply -f examples/ecs-service/policy.yaml');
    expect(section).toContain('enrollments list --cluster prod');
  });
});
