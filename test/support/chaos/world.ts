/**
 * The scenario's world and its own model of it: clusters, services (one WorkloadGroup, IAM role
 * and task definition each) spread over namespaces, one policy per namespace, and the changes
 * made in the middle of the run. What the mesh should hold is computed from this model and from
 * ECS, not from the reconciler's code.
 */
import { CreateClusterCommand, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, UntagRoleCommand, type IAMClient } from '@aws-sdk/client-iam';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ECS_TASKS_TRUST_POLICY } from '../../../local/bootstrap.js';
import type { OnboardingPolicy } from '../../../shared/core/schemas.js';
import type { KubernetesApiDouble } from '../kubernetes-api-double.js';

export const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

/** The accounts of a run over `count` of them: moto's default one (the hub, in hub and spoke), then 111111111111, 222222222222... */
export const accountsOf = (count: number): string[] => Array.from({ length: count }, (_, i) => (i === 0 ? ACCOUNT : String(i).repeat(12)));

export interface Template {
  serviceAccount: string;
  network: string;
  ports: Record<string, number>;
  /** The group's spec.metadata.labels, which every entry carries. */
  labels: Record<string, string>;
}

export interface Service {
  name: string;
  /** The account its role, task definition and tasks live in. */
  accountId: string;
  namespace: string;
  roleArn: string;
  roleName: string;
  taskDefinitionArn: string;
  template: Template;
  /** The role still has the `team` tag the namespace's policy asks for. */
  teamTagged: boolean;
  groupDeleted: boolean;
  /** The group has a readiness probe: its entries carry istiod's health-checks annotation. */
  probed: boolean;
}

export interface World {
  accounts: string[];
  /** The clusters' names; each account has one of each. */
  clusters: string[];
  /** meshNetworks by account (MESH_NETWORKS): an account's entries name its network, not their group template's. */
  accountNetworks: Map<string, string>;
  services: Service[];
  /** Per namespace, the clusters its policy allows now. */
  allowedClusters: Map<string, string[]>;
  policyRevision: number;
  /**
   * Every address moto has handed a task of the run, by account. moto picks ENI addresses at
   * random and may give one twice, which a VPC never does while the first holds it: such a task
   * is stopped at once (see runTasks), so the truth never has two tasks at one address.
   */
  addressesHandedOut: Map<string, Set<string>>;
}

/** One account's clients, acting in it. */
export interface AccountClients {
  ecs: ECSClient;
  iam: IAMClient;
}

export interface WorldClients {
  accounts: ReadonlyMap<string, AccountClients>;
  /** Each deployment's policy table: the same policies are put in every one. */
  policyTables: readonly { dynamo: DynamoDBDocumentClient; table: string }[];
}

const templateOf = (service: string): Template => ({ serviceAccount: service, network: 'vpc-chaos', ports: { http: 8080 }, labels: { app: service, version: 'v1' } });

/** The readiness probe of a probed group, which istio-agent runs and reports to istiod. */
const PROBE = { periodSeconds: 5, httpGet: { path: '/ready', port: 8080 } };

function groupOf(service: Service) {
  const { template } = service;
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadGroup',
    metadata: { name: service.name, namespace: service.namespace, labels: { app: service.name } },
    spec: {
      metadata: { labels: template.labels },
      template: { serviceAccount: template.serviceAccount, network: template.network, ports: template.ports },
      ...(service.probed ? { probe: PROBE } : {}),
    },
  };
}

/** The port of a service's Kubernetes Service: 80, to the workload's port named `http`. */
export const SERVICE_PORT = { name: 'http', port: 80, targetPort: 'http' } as const;

/**
 * The Kubernetes Service in front of a group's tasks, as the API server stores it: it selects the
 * group's current labels and sends port 80 to the port the entries name `http`.
 */
export function kubernetesServiceOf(service: Service) {
  return {
    metadata: { name: service.name, namespace: service.namespace },
    spec: { selector: { ...service.template.labels }, clusterIP: '10.96.0.10', type: 'ClusterIP', ports: [{ ...SERVICE_PORT, protocol: 'TCP' }] },
  };
}

/** The world's cluster names (each account has one of each). */
export const clusterNames = (options: { clusters: number; tag: string }): string[] => Array.from({ length: options.clusters }, (_, i) => `chaos${options.tag}-${i}`);

/**
 * Creates the clusters (the same names in every account), roles, task definitions, groups (every
 * other one with a probe) and policies; `tag` sets a run's names apart from another's on the same AWS. The services are dealt round the accounts; their groups
 * share the one mesh.
 */
export async function buildWorld(options: { clusters: number; services: number; namespaces: number; tag: string }, clients: WorldClients, k8s: KubernetesApiDouble): Promise<World> {
  const accounts = [...clients.accounts.keys()];
  const clusters = clusterNames(options);
  for (const { ecs } of clients.accounts.values()) for (const clusterName of clusters) await ecs.send(new CreateClusterCommand({ clusterName }));
  const services: Service[] = [];
  for (let i = 0; i < options.services; i++) {
    const accountId = accounts[i % accounts.length]!;
    const { ecs, iam } = clients.accounts.get(accountId)!;
    const name = `svc-${i}`;
    const namespace = `ns-${i % options.namespaces}`;
    const roleName = `chaos${options.tag}-${name}`;
    const role = await iam.send(
      new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'ecsmesh.io/workload-group', Value: `${namespace}/${name}` }, { Key: 'team', Value: name }] }),
    );
    const definition = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: roleName,
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        taskRoleArn: role.Role!.Arn!,
        containerDefinitions: [{ name: 'app', image: 'public.ecr.aws/docker/library/nginx:latest', essential: true, memory: 256 }],
      }),
    );
    const service: Service = { name, accountId, namespace, roleName, roleArn: role.Role!.Arn!, taskDefinitionArn: definition.taskDefinition!.taskDefinitionArn!, template: templateOf(name), teamTagged: true, groupDeleted: false, probed: i % 2 === 0 };
    k8s.seed(groupOf(service) as never);
    services.push(service);
  }
  const world: World = { accounts, clusters, accountNetworks: new Map(), services, allowedClusters: new Map(), policyRevision: 0, addressesHandedOut: new Map() };
  for (const namespace of new Set(services.map((s) => s.namespace))) await putPolicy(world, namespace, clusters, clients);
  return world;
}

/** The namespace's policy, in every deployment's table: its services' `team` tags, in the world's accounts, on the given clusters, onto any group of the namespace. */
async function putPolicy(world: World, namespace: string, clusters: string[], clients: WorldClients): Promise<void> {
  const teams = world.services.filter((s) => s.namespace === namespace).map((s) => s.name);
  const policy: OnboardingPolicy = {
    apiVersion: 'ecsmesh.io/v1alpha1',
    kind: 'OnboardingPolicy',
    metadata: { name: 'allow-chaos', namespace },
    spec: { allow: [{ workloads: [{ aws: { accounts: world.accounts, regions: [REGION], ecs: { clusters, iamRoleTags: { team: teams } } } }], onboardTo: [{ workloadGroupSelector: {} }] }] },
  };
  world.policyRevision += 1;
  for (const { dynamo, table } of clients.policyTables) await dynamo.send(new PutCommand({ TableName: table, Item: { namespace, name: 'allow-chaos', revision: world.policyRevision, document: JSON.stringify(policy) } }));
  world.allowedClusters.set(namespace, clusters);
}

/** The changes made in the middle of the run, each remembered in the model; returns what was done. */
export async function changeWorld(world: World, clients: WorldClients, k8s: KubernetesApiDouble): Promise<string[]> {
  const [, untagged, retemplated, deleted] = world.services;
  const narrowed = world.services[0]!;
  const kept = world.clusters.slice(0, -1);
  await putPolicy(world, narrowed.namespace, kept, clients);

  await clients.accounts.get(untagged!.accountId)!.iam.send(new UntagRoleCommand({ RoleName: untagged!.roleName, TagKeys: ['team'] }));
  untagged!.teamTagged = false;

  retemplated!.template = { serviceAccount: `${retemplated!.name}-v2`, network: 'vpc-chaos', ports: { http: 9090, grpc: 9091 }, labels: { app: retemplated!.name, version: 'v2' } };
  const current = k8s.objects('WorkloadGroup').find((g) => g.metadata.name === retemplated!.name)!;
  k8s.adminReplace({ ...current, spec: groupOf(retemplated!).spec } as never);

  k8s.adminDelete('WorkloadGroup', deleted!.namespace, deleted!.name);
  deleted!.groupDeleted = true;
  return [
    `policy ${narrowed.namespace}/allow-chaos narrowed to clusters ${kept.join(',')}`,
    `role ${untagged!.roleName}: tag team removed (UntagRole)`,
    `group ${retemplated!.namespace}/${retemplated!.name}: ports, serviceAccount and labels changed`,
    `group ${deleted!.namespace}/${deleted!.name} deleted`,
  ];
}

/** Whether the task may be in the mesh now, per the model. */
export function allowedNow(world: World, service: Service, clusterName: string): boolean {
  return !service.groupDeleted && service.teamTagged && (world.allowedClusters.get(service.namespace) ?? []).includes(clusterName);
}

/** Runs `count` tasks spread over the services and clusters (of each service's account); remembers their ids. */
export async function runTasks(world: World, accounts: ReadonlyMap<string, AccountClients & { subnet: string }>, count: number, taskArns: Map<string, string>): Promise<{ cluster: string; taskArn: string }[]> {
  const pairs = world.services.flatMap((service) => world.clusters.map((cluster) => ({ service, cluster })));
  const started: { cluster: string; taskArn: string }[] = [];
  for (let p = 0; p < pairs.length; p++) {
    const { service, cluster } = pairs[p]!;
    let left = Math.floor(count / pairs.length) + (p < count % pairs.length ? 1 : 0);
    while (left > 0) {
      const n = Math.min(10, left);
      const { ecs, subnet } = accounts.get(service.accountId)!;
      left -= n;
      const out = await ecs.send(
        new RunTaskCommand({ cluster, taskDefinition: service.taskDefinitionArn, count: n, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-12345678'] } } }),
      );
      const handedOut = world.addressesHandedOut.get(service.accountId) ?? new Set<string>();
      world.addressesHandedOut.set(service.accountId, handedOut);
      for (const task of out.tasks ?? []) {
        taskArns.set(task.taskArn!.split('/').pop()!, task.taskArn!);
        const address = addressOf(task);
        if (address !== undefined && handedOut.has(address)) {
          await ecs.send(new StopTaskCommand({ cluster, task: task.taskArn!, reason: 'moto gave it an address already handed out (chaos harness)' }));
          continue;
        }
        if (address !== undefined) handedOut.add(address);
        started.push({ cluster, taskArn: task.taskArn! });
      }
    }
  }
  return started;
}

/** The private address ECS gives an awsvpc task (its ENI attachment's details). */
export function addressOf(task: Task): string | undefined {
  return task.attachments?.flatMap((a) => a.details ?? []).find((d) => d.name === 'privateIPv4Address')?.value;
}
