import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { createMeshApi, createWorkloadGroupReader } from '../../shared/adapters/mesh-api-factory.js';
import { KubernetesWorkloadGroupReader } from '../../shared/adapters/kubernetes-workload-groups.js';
import { ConfigError } from '../../shared/errors.js';
import { MeshValidationError } from '../../shared/errors.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';

const anEntry = (address: string): WorkloadEntry => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadEntry',
  metadata: { name: 'payments-1', namespace: 'payments', labels: { app: 'payments' } },
  spec: { address, ports: { http: 8080 }, serviceAccount: 'payments' },
});

describe('Function: createMeshApi with MESH_API=file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mesh-factory-'));
    await mkdir(join(dir, 'workloadgroups'));
    await writeFile(join(dir, 'workloadgroups', 'g.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: {name: payments, namespace: payments}\nspec: {template: {serviceAccount: payments}}\n');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('loads the file adapter on first use and serves the folder through it', async () => {
    const mesh = createMeshApi(loadConfig('taskEvents', { MESH_API: 'file', MESH_FILE_DIR: dir }), { secrets: undefined as never });

    const group = await mesh.getWorkloadGroup({ namespace: 'payments', name: 'payments' });
    const stored = await mesh.applyWorkloadEntry(anEntry('10.0.1.23'));

    expect(group?.spec.template?.serviceAccount).toBe('payments');
    expect(stored.metadata.uid).toBeTruthy();
    expect(await readdir(join(dir, 'workloadentries', 'payments'))).toEqual(['payments-1.yaml']);
  });

  it('still validates every entry against the CRD before writing it', async () => {
    const mesh = createMeshApi(loadConfig('taskEvents', { MESH_API: 'file', MESH_FILE_DIR: dir }), { secrets: undefined as never });

    const write = mesh.applyWorkloadEntry(anEntry('unix://relative'));

    await expect(write).rejects.toBeInstanceOf(MeshValidationError);
    await expect(readdir(join(dir, 'workloadentries'))).rejects.toThrow();
  });
});

describe('Function: createWorkloadGroupReader', () => {
  it('reads the groups of the folder with MESH_API=file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-factory-'));
    await mkdir(join(dir, 'workloadgroups'));
    await writeFile(join(dir, 'workloadgroups', 'g.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: {name: ratings, namespace: bookinfo}\nspec: {template: {serviceAccount: ratings}}\n');

    const group = await createWorkloadGroupReader(loadConfig('explain', { MESH_API: 'file', MESH_FILE_DIR: dir }), { secrets: undefined as never }).getWorkloadGroup({ namespace: 'bookinfo', name: 'ratings' });

    expect(group?.spec.template?.serviceAccount).toBe('ratings');
    await rm(dir, { recursive: true, force: true });
  });

  it('gives a Kubernetes mesh a reader that holds no entry writer, and asks for its URL as the writer does', () => {
    const config = loadConfig('explain', { MESH_API: 'kubernetes', MESH_K8S_URL: 'https://mesh.example', MESH_K8S_AUTH: 'bearer', MESH_K8S_TOKEN_SECRET_ID: 'mesh/token' });

    const reader = createWorkloadGroupReader(config, { secrets: undefined as never });

    expect(reader).toBeInstanceOf(KubernetesWorkloadGroupReader);
    expect(reader).not.toHaveProperty('applyWorkloadEntry');
    expect(() => createWorkloadGroupReader({ ...config, MESH_K8S_URL: undefined }, { secrets: undefined as never })).toThrow(ConfigError);
  });
});
