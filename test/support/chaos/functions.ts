/**
 * The functions under test as they are deployed, wired to the local AWS and the Kubernetes API
 * double: task-events behind the fault injector, and the reconciler of a cold container, of each
 * deployment of the run (one, a hub with members, or one per account).
 */
import type { bootstrapLocalStack, ClientSettings } from '../../../local/bootstrap.js';
import { countCalls } from '../../../shared/adapters/aws-call-counter.js';
import { reportTaskVersions } from '../../../local/ecs-task-versions.js';
import type { TaskEventsDeps } from '../../../functions/task-events/process-batch.js';
import { KubernetesMeshApi } from '../../../shared/adapters/kubernetes-mesh-api.js';
import { buildEnrollmentDeps, buildReconcileDeps, createAwsClients, EVERY_AWS_CLIENT, extendAwsClients } from '../../../shared/adapters/wiring.js';
import type { Log } from '../../../shared/ports.js';
import type { ReconcileDeps } from '../../../shared/app/reconcile-tasks.js';
import { loadConfig } from '../../../shared/config.js';
import type { KubernetesApiDouble } from '../kubernetes-api-double.js';
import { injectSdkFaults, withMeshFaults, type FaultInjector } from './faults.js';

export const MESH_TOKEN = 'chaos-mesh-token';

export type Stack = Awaited<ReturnType<typeof bootstrapLocalStack>>;

/** One deployment of the control plane: the account it runs in (its clients act there), its stack, and the settings that set it apart. */
export interface ChaosDeployment {
  accountId: string;
  aws: ClientSettings & { credentials: { sessionToken?: string } };
  stack: Stack;
  /** e.g. MEMBER_ACCOUNTS and CROSS_ACCOUNT_ROLE_NAME of a hub, AUTH_AUDIENCE of one of several deployments, MESH_NETWORKS. */
  env: Record<string, string>;
}

/** What ECS reports as a task's version (moto reports none): the local event source's. */
export type TaskVersions = (taskArn: string) => number | undefined;

let versionsOfRun: TaskVersions = () => undefined;
// Every ECS client the functions make reports them, a hub's clients for its members included.
extendAwsClients('ecs', (ecs) => reportTaskVersions(ecs, (taskArn) => versionsOfRun(taskArn)));

/** The task versions of the run under way, which DescribeTasks reports from now on. */
export function reportVersionsOfRun(versionOf: TaskVersions): void {
  versionsOfRun = versionOf;
}

/** task-events as deployed: default caches, its clients behind the fault injector. */
export function taskEventsDeps(deployment: ChaosDeployment, k8s: KubernetesApiDouble, faults: FaultInjector, log: Log, calls: Map<string, number>, clock: () => number): TaskEventsDeps {
  const { stack, aws } = deployment;
  const config = loadConfig('taskEvents', { AWS_ENDPOINT_URL: aws.endpoint, AWS_REGION: aws.region, POLICY_TABLE: stack.policyTable, ENROLLMENT_TABLE: stack.enrollmentTable, ...deployment.env });
  const clients = createAwsClients(config, EVERY_AWS_CLIENT, aws.credentials);
  countCalls({ ...clients }, calls);
  injectSdkFaults({ ...clients }, faults);
  const mesh = withMeshFaults(new KubernetesMeshApi({ baseUrl: k8s.url, token: async () => MESH_TOKEN, timeoutMs: 2000 }), faults);
  return { ...buildEnrollmentDeps(config, log, clients, mesh, clock), deadLetters: undefined };
}

/** The reconciler of a cold container: every task in one pass, no grace (the events are all in). */
export function reconcileDeps(deployment: ChaosDeployment, k8s: KubernetesApiDouble, maxTasks: number, calls: Map<string, number>, log: Log): ReconcileDeps {
  const { stack, aws } = deployment;
  const config = loadConfig('reconcile', {
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    POLICY_TABLE: stack.policyTable,
    ENROLLMENT_TABLE: stack.enrollmentTable,
    AUTH_TABLE: stack.authTable,
    RECONCILE_GRACE_SECONDS: '0',
    RECONCILE_MAX_TASKS: String(maxTasks),
    ...deployment.env,
  });
  const clients = createAwsClients(config, EVERY_AWS_CLIENT, aws.credentials);
  countCalls({ ...clients }, calls);
  return buildReconcileDeps(config, log, clients, new KubernetesMeshApi({ baseUrl: k8s.url, token: async () => MESH_TOKEN, timeoutMs: 5000 }));
}

/** The functions' log, silenced: the run's figures say what happened. */
export function quietLog(): Log {
  const nothing = () => {};
  return { debug: nothing, info: nothing, warn: nothing, error: nothing };
}
