// The mesh API's bearer token kept in Secrets Manager (MESH_K8S_AUTH=bearer): every function that
// calls the mesh reads it with its own role, and the API server lets the request in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import { secretsManagerTokenProvider } from '../../shared/adapters/kubernetes-auth.js';
import { asFunction, type FunctionName } from '../support/aws-call-recorder.js';
import { KubernetesApiDouble } from '../support/kubernetes-api-double.js';
import { localAwsConfig } from '../support/local-aws.js';

const SECRET = 'mesh/api-token';
const TOKEN = 'mesh-api-bearer-token';
let double: KubernetesApiDouble;

beforeAll(async () => {
  double = await KubernetesApiDouble.start({ token: TOKEN });
  double.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'ratings', namespace: 'bookinfo' }, spec: { template: { serviceAccount: 'ratings' } } });
  await new SecretsManagerClient(localAwsConfig()).send(new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify({ token: TOKEN }) }));
});
afterAll(() => double.stop());

describe('the mesh API token in Secrets Manager', () => {
  it.each<FunctionName>(['taskEvents', 'explain', 'auth', 'tokenMaintenance', 'reconcile'])('is read by %s, whose requests the API server accepts', async (fn) => {
    const token = secretsManagerTokenProvider(new SecretsManagerClient(localAwsConfig()), SECRET, 0);
    const mesh = new KubernetesMeshApi({ baseUrl: double.url, token, timeoutMs: 2000 });

    const group = await asFunction({ fn, params: { MeshK8sTokenSecretId: SECRET } }, () => mesh.getWorkloadGroup({ namespace: 'bookinfo', name: 'ratings' }));

    expect(group?.metadata.name).toBe('ratings');
  });
});
