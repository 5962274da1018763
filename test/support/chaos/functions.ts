/**
 * The functions under test as they are deployed, wired to the local AWS and the Kubernetes API
 * double: task-events behind the fault injector, and the reconciler of a cold container.
 */
import type { EcsEventSource } from '../../../local/ecs-event-source.js';
import type { bootstrapLocalStack } from '../../../local/bootstrap.js';
import { countCalls } from '../../../shared/adapters/aws-call-counter.js';
import { reportTaskVersions } from '../../../local/ecs-task-versions.js';
import type { TaskEventsDeps } from '../../../functions/task-events/process-batch.js';
import { KubernetesMeshApi } from '../../../shared/adapters/kubernetes-mesh-api.js';
import { buildEnrollmentDeps, buildReconcileDeps, createAwsClients } from '../../../shared/adapters/wiring.js';
import type { Log } from '../../../shared/app/log.js';
import type { ReconcileDeps } from '../../../shared/app/reconcile-tasks.js';
import { loadConfig } from '../../../shared/config.js';
import type { KubernetesApiDouble } from '../kubernetes-api-double.js';
import { injectSdkFaults, withMeshFaults, type FaultInjector } from './faults.js';

export const MESH_TOKEN = 'chaos-mesh-token';

export type Stack = Awaited<ReturnType<typeof bootstrapLocalStack>>;

/** task-events as deployed: default caches, its clients behind the fault injector. */
export function taskEventsDeps(endpoint: string, stack: Stack, k8s: KubernetesApiDouble, faults: FaultInjector, log: Log, source: EcsEventSource, calls: Map<string, number>): TaskEventsDeps {
  const config = loadConfig('taskEvents', { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', POLICY_TABLE: stack.policyTable, ENROLLMENT_TABLE: stack.enrollmentTable });
  const clients = createAwsClients(config);
  reportTaskVersions(clients.ecs, (arn) => source.versionOf(arn));
  countCalls({ ...clients }, calls);
  injectSdkFaults({ ...clients }, faults);
  const mesh = withMeshFaults(new KubernetesMeshApi({ baseUrl: k8s.url, token: async () => MESH_TOKEN, timeoutMs: 2000 }), faults);
  return { ...buildEnrollmentDeps(config, log, clients, mesh), deadLetters: undefined };
}

/** The reconciler of a cold container: every task in one pass, no grace (the events are all in). */
export function reconcileDeps(endpoint: string, stack: Stack, k8s: KubernetesApiDouble, maxTasks: number, calls: Map<string, number>, log: Log, source: EcsEventSource): ReconcileDeps {
  const config = loadConfig('reconcile', {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    POLICY_TABLE: stack.policyTable,
    ENROLLMENT_TABLE: stack.enrollmentTable,
    AUTH_TABLE: stack.authTable,
    RECONCILE_GRACE_SECONDS: '0',
    RECONCILE_MAX_TASKS: String(maxTasks),
  });
  const clients = createAwsClients(config);
  reportTaskVersions(clients.ecs, (arn) => source.versionOf(arn));
  countCalls({ ...clients }, calls);
  return buildReconcileDeps(config, log, clients, new KubernetesMeshApi({ baseUrl: k8s.url, token: async () => MESH_TOKEN, timeoutMs: 5000 }));
}

/** The functions' log, silenced: the run's figures say what happened. */
export function quietLog(): Log {
  const nothing = () => {};
  return { debug: nothing, info: nothing, warn: nothing, error: nothing };
}
