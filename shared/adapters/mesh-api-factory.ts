/**
 * Chooses the mesh adapter from config (docs/architecture.md#mesh-api): `kubernetes` in production,
 * `file` locally; the entry writer for the functions that write entries, else the group reader.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { Settings } from '../config.js';
import { ConfigError } from '../errors.js';
import type { MeshApi, MeshNamesApi, WorkloadGroupReader } from '../ports.js';
import type { AwsClients } from './wiring.js';
import type { KubernetesApiOptions } from './kubernetes-api.js';
import { KubernetesMeshApi } from './kubernetes-mesh-api.js';
import { KubernetesWorkloadGroupReader } from './kubernetes-workload-groups.js';
import { eksTokenProvider, secretsManagerTokenProvider } from './kubernetes-auth.js';

/**
 * The file adapter is local-only (`npm run local`, tests): imported by a specifier esbuild cannot
 * resolve at build time, so the Lambda bundles never contain it or the `yaml` it parses with.
 */
const FILE_MESH_API_MODULE = './file-mesh-api.js';

type MeshConnectionSettings = Settings<'AWS_REGION' | 'MESH_API' | 'MESH_FILE_DIR' | 'MESH_K8S_URL' | 'MESH_K8S_CA_PEM' | 'MESH_K8S_AUTH' | 'MESH_K8S_EKS_CLUSTER_NAME' | 'MESH_K8S_TOKEN_SECRET_ID' | 'MESH_K8S_TIMEOUT_MS'>;

/** Builds the configured MeshApi: the entry writer, for task-events and the reconciler. */
export function createMeshApi(config: MeshConnectionSettings, clients: Pick<AwsClients, 'secrets'>): MeshApi {
  if (config.MESH_API === 'file') return fileMeshApi(config.MESH_FILE_DIR);
  return new KubernetesMeshApi(kubernetesConnection(config, clients));
}

/** Builds the configured WorkloadGroup reader: for the functions that read groups and never write entries. */
export function createWorkloadGroupReader(config: MeshConnectionSettings, clients: Pick<AwsClients, 'secrets'>): WorkloadGroupReader {
  if (config.MESH_API === 'file') return fileMeshApi(config.MESH_FILE_DIR);
  return new KubernetesWorkloadGroupReader(kubernetesConnection(config, clients));
}

/** The names function's view of the mesh: the Kubernetes API only (Services and Sidecars have no file form). */
export function createMeshNamesApi(config: MeshConnectionSettings, clients: Pick<AwsClients, 'secrets'>): MeshNamesApi {
  if (config.MESH_API !== 'kubernetes') throw new ConfigError('MESH_API: the names function needs kubernetes (it lists Services and writes Sidecars)');
  return new KubernetesMeshApi(kubernetesConnection(config, clients));
}

/** The API server's address, CA and timeout, and the token it is called with (EKS's, or a secret's). */
function kubernetesConnection(config: MeshConnectionSettings, clients: Pick<AwsClients, 'secrets'>): KubernetesApiOptions {
  if (!config.MESH_K8S_URL) throw new ConfigError('MESH_K8S_URL: required when MESH_API=kubernetes');
  const token =
    config.MESH_K8S_AUTH === 'eks'
      ? eksTokenProvider({ clusterName: config.MESH_K8S_EKS_CLUSTER_NAME ?? '', region: config.AWS_REGION, credentials: defaultProvider() })
      : secretsManagerTokenProvider(clients.secrets, config.MESH_K8S_TOKEN_SECRET_ID ?? '', 300);
  return { baseUrl: config.MESH_K8S_URL, token, caPem: config.MESH_K8S_CA_PEM, timeoutMs: config.MESH_K8S_TIMEOUT_MS };
}

/** A FileMeshApi over `dir`, loaded on its first call. */
function fileMeshApi(dir: string): MeshApi {
  let loaded: Promise<MeshApi> | undefined;
  const mesh = () =>
    (loaded ??= (import(FILE_MESH_API_MODULE) as Promise<typeof import('./file-mesh-api.js')>).then(
      ({ FileMeshApi }) => new FileMeshApi(dir),
      (err: unknown) => {
        throw new ConfigError(`MESH_API=file: the file mesh adapter is local-only and not in this bundle (${err instanceof Error ? err.message : String(err)})`);
      },
    ));
  return {
    getWorkloadGroup: async (ref) => (await mesh()).getWorkloadGroup(ref),
    getWorkloadEntry: async (ref) => (await mesh()).getWorkloadEntry(ref),
    applyWorkloadEntry: async (entry) => (await mesh()).applyWorkloadEntry(entry),
    deleteWorkloadEntry: async (ref, preconditions) => (await mesh()).deleteWorkloadEntry(ref, preconditions),
    listWorkloadEntries: async (labels, namespace) => (await mesh()).listWorkloadEntries(labels, namespace),
  };
}
