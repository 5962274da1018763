import { beforeAll, describe, expect, it } from 'vitest';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createEnrollmentTable } from '../../local/bootstrap.js';
import { DynamoDbEnrollmentStore } from '../../shared/adapters/dynamodb-enrollment-store.js';
import { SecretsManagerKeyStore } from '../../shared/adapters/secrets-manager-key-store.js';
import { SecretsManagerTokenVault } from '../../shared/adapters/secrets-manager-token-vault.js';
import { ExpiringCache } from '../../shared/adapters/expiring-cache.js';
import { createServiceTokenEnsurer, ensureServiceToken, type EnsuredServiceToken, type ServiceTokenDeps } from '../../shared/app/ensure-service-token.js';
import { maintainServiceTokens } from '../../shared/app/maintain-service-tokens.js';
import type { ObjectRef, WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { TOKEN_PROFILE_ANNOTATION } from '../../shared/core/tokens.js';
import type { ServiceTokenVault } from '../../shared/ports.js';
import { aGroup, aRecord } from '../fixtures/builders.js';
import { localAwsConfig } from '../support/local-aws.js';
import { MemoryLog } from '../support/memory-log.js';
import { TestTokenSigner } from '../support/in-memory-ports.js';
import { asFunction, type FunctionName } from '../support/aws-call-recorder.js';

const PREFIX = 'ecs-mesh-test';
const LIFETIME = 86_400;
const NOW = new Date('2026-03-01T12:00:00.000Z');
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

let signer: TestTokenSigner;
/** The kuma profile's own keys: a kuma token must never come from the istio key set. */
let kumaSigner: TestTokenSigner;
const logs: MemoryLog[] = [];
const minted = new Set<string>();

const client = () => new SecretsManagerClient(localAwsConfig());
const secretName = (ref: ObjectRef) => `${PREFIX}/${ref.namespace}/${ref.name}`;
const refOf = (group: WorkloadGroup): ObjectRef => ({ namespace: group.metadata.namespace, name: group.metadata.name });
/** Runs as `fn` configured with `prefix`, for the IAM check: task-events mints, token-maintenance refreshes and removes. */
const as = <T>(fn: FunctionName, work: () => T, prefix = PREFIX): T => asFunction({ fn, params: { TokenSecretPrefix: prefix } }, work);
const ensure = (...args: Parameters<typeof ensureServiceToken>) => as('taskEvents', () => ensureServiceToken(...args));

/** Fresh deps as one Lambda container would build them; every log is kept to check for leaks. */
function depsWith(overrides: Partial<Omit<ServiceTokenDeps, 'log'>> = {}): ServiceTokenDeps & { log: MemoryLog } {
  const log = new MemoryLog();
  logs.push(log);
  return {
    vault: new SecretsManagerTokenVault(client(), PREFIX),
    signers: { istio: signer, kuma: kumaSigner },
    issuer: 'https://mesh.example.com',
    audiences: ['istio-ca'],
    meshName: 'prod-mesh',
    defaultProfile: 'istio',
    lifetimeSeconds: LIFETIME,
    ...overrides,
    log,
  };
}

/** The vault, counting its reads and writes. */
function countingVault(vault: ServiceTokenVault): { calls: { read: number; write: number }; counting: ServiceTokenVault } {
  const calls = { read: 0, write: 0 };
  const counting: ServiceTokenVault = {
    read: (ref) => (calls.read++, vault.read(ref)),
    write: (ref, doc, version) => (calls.write++, vault.write(ref, doc, version)),
    list: () => vault.list(),
    remove: (ref) => vault.remove(ref),
  };
  return { calls, counting };
}

async function storedSecret(ref: ObjectRef, prefix = PREFIX) {
  const out = await client().send(new GetSecretValueCommand({ SecretId: `${prefix}/${ref.namespace}/${ref.name}` }));
  const document = JSON.parse(out.SecretString ?? '{}') as { token: string; kid: string };
  minted.add(document.token);
  return document;
}

async function versionCount(ref: ObjectRef): Promise<number> {
  const out = await client().send(new ListSecretVersionIdsCommand({ SecretId: secretName(ref) }));
  return out.Versions?.length ?? 0;
}

beforeAll(async () => {
  signer = await TestTokenSigner.create('test-key-1');
  kumaSigner = await TestTokenSigner.create('test-kuma-key-1');
});

describe('ensureServiceToken against Secrets Manager', () => {
  it('creates the secret with its tags and the documented JSON, holding a verifiable istio token', async () => {
    const group = aGroup({ name: 'ratings', namespace: 'bookinfo' });

    const result = await ensure(group, depsWith(), NOW);

    expect(result).toEqual({ outcome: 'minted', kid: 'test-key-1', expiresAt: later(LIFETIME).toISOString(), issuedAt: NOW.toISOString(), profile: 'istio' });
    const document = await storedSecret(refOf(group));
    expect(Object.keys(document).sort()).toEqual(['expiresAt', 'issuedAt', 'kid', 'profile', 'token', 'workloadGroup']);
    expect(document).toMatchObject({ issuedAt: NOW.toISOString(), expiresAt: later(LIFETIME).toISOString(), kid: 'test-key-1', profile: 'istio', workloadGroup: 'bookinfo/ratings' });
    const described = await client().send(new DescribeSecretCommand({ SecretId: secretName(refOf(group)) }));
    expect(Object.fromEntries((described.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      'ecsmesh.io/managed-by': 'ecs-mesh-onboarding',
      'ecsmesh.io/kind': 'service-token',
      'ecsmesh.io/workload-group': 'bookinfo/ratings',
    });
    const { payload, header } = await signer.verify(document.token, later(60));
    expect(header).toMatchObject({ alg: 'RS256', kid: 'test-key-1' });
    expect(payload).toMatchObject({
      iss: 'https://mesh.example.com',
      sub: 'system:serviceaccount:bookinfo:bookinfo-ratings',
      aud: ['istio-ca'],
      'ecsmesh.io/workload-group': 'bookinfo/ratings',
      'ecsmesh.io/mesh': 'prod-mesh',
    });
  });

  it('makes exactly one secret version when 50 Lambdas create the token at once', async () => {
    const group = aGroup({ name: 'burst-create' });

    const results = await as('taskEvents', () => Promise.all(Array.from({ length: 50 }, () => createServiceTokenEnsurer(depsWith())(group, NOW))));

    expect(await versionCount(refOf(group))).toBe(1);
    // One wins; the others lost the race ('superseded') or read the winner's token ('fresh').
    expect(results.filter((r) => r.outcome === 'minted')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'superseded').length).toBeGreaterThan(0);
    expect(new Set(results.map((r) => `${r.kid} ${r.expiresAt}`)).size).toBe(1);
    await storedSecret(refOf(group));
  });

  it('makes exactly one new version when 50 Lambdas refresh a due token at once', async () => {
    const group = aGroup({ name: 'burst-refresh' });
    await ensure(group, depsWith(), NOW);
    const due = later(LIFETIME * 0.8);

    const results = await as('taskEvents', () => Promise.all(Array.from({ length: 50 }, () => createServiceTokenEnsurer(depsWith())(group, due))));

    expect(await versionCount(refOf(group))).toBe(2);
    expect(results.filter((r) => r.outcome === 'minted')).toHaveLength(1);
    const document = await storedSecret(refOf(group));
    expect(document).toMatchObject({ issuedAt: due.toISOString() });
    expect(results.every((r) => r.expiresAt === later(LIFETIME * 1.8).toISOString())).toBe(true);
  });

  it('shares one read and one write among all events of a service in one batch', async () => {
    const group = aGroup({ name: 'one-batch' });
    const deps = depsWith();
    const { calls, counting } = countingVault(deps.vault);
    const ensureOnce = createServiceTokenEnsurer({ ...deps, vault: counting });

    const results = await as('taskEvents', () => Promise.all(Array.from({ length: 50 }, () => ensureOnce(group, NOW))));

    expect(calls).toEqual({ read: 1, write: 1 });
    expect(new Set(results.map((r) => r.outcome))).toEqual(new Set(['minted']));
    await storedSecret(refOf(group));
  });

  it.each([
    { $case: 'a token within its refresh window is minted again', age: LIFETIME * (2 / 3) + 1, outcome: 'minted', versions: 2 },
    { $case: 'a token outside it is kept', age: LIFETIME * (2 / 3) - 1, outcome: 'fresh', versions: 1 },
  ])('$case', async ({ age, outcome, versions }) => {
    const group = aGroup({ name: `window-${outcome}` });
    await ensure(group, depsWith(), NOW);

    const result = await ensure(group, depsWith(), later(age));

    expect(result.outcome).toBe(outcome);
    expect(await versionCount(refOf(group))).toBe(versions);
    await storedSecret(refOf(group));
  });

  it('mints Kuma dataplane claims with the kuma keys, RS256 with a kid header, for a group annotated with the kuma profile', async () => {
    const base = aGroup({ name: 'payments', namespace: 'shop' });
    const group: WorkloadGroup = { ...base, metadata: { ...base.metadata, annotations: { [TOKEN_PROFILE_ANNOTATION]: 'kuma' } } };

    await ensure(group, depsWith(), NOW);

    const document = await storedSecret(refOf(group));
    expect(document).toMatchObject({ profile: 'kuma', kid: 'test-kuma-key-1' });
    await expect(signer.verify(document.token, later(60))).rejects.toThrow();
    const { payload, header } = await kumaSigner.verify(document.token, later(60));
    expect(header).toEqual({ alg: 'RS256', kid: 'test-kuma-key-1', typ: 'JWT' });
    expect(payload).toEqual({
      iss: 'https://mesh.example.com',
      Name: '',
      Mesh: 'prod-mesh',
      Tags: { 'kuma.io/service': ['payments'] },
      Type: 'dataplane',
      iat: NOW.getTime() / 1000,
      nbf: NOW.getTime() / 1000,
      exp: NOW.getTime() / 1000 + LIFETIME,
      jti: expect.any(String),
    });
  });

  it('re-mints a fresh token when the group switches profile', async () => {
    const base = aGroup({ name: 'switching' });
    await ensure(base, depsWith(), NOW);
    const kuma: WorkloadGroup = { ...base, metadata: { ...base.metadata, annotations: { [TOKEN_PROFILE_ANNOTATION]: 'kuma' } } };

    const result = await ensure(kuma, depsWith(), later(60));

    expect(result.outcome).toBe('minted');
    expect(await storedSecret(refOf(base))).toMatchObject({ profile: 'kuma' });
  });

  it('restores a secret scheduled for deletion and writes a new token into it', async () => {
    const group = aGroup({ name: 'comeback' });
    const vault = new SecretsManagerTokenVault(client(), PREFIX);
    await ensure(group, depsWith(), NOW);
    await vault.remove(refOf(group));
    expect(await vault.read(refOf(group))).toBeUndefined();

    const result = await ensure(group, depsWith(), later(3600));

    expect(result.outcome).toBe('minted');
    expect(await storedSecret(refOf(group))).toMatchObject({ issuedAt: later(3600).toISOString() });
  });

  it('lists only secrets tagged as service tokens under its prefix', async () => {
    await client().send(new CreateSecretCommand({ Name: `${PREFIX}/bookinfo/untagged`, SecretString: '{}' }));
    await client().send(new CreateSecretCommand({ Name: `${PREFIX}/signing-keys`, SecretString: '{}', Tags: [{ Key: 'ecsmesh.io/kind', Value: 'signing-keys' }] }));

    const refs = await new SecretsManagerTokenVault(client(), PREFIX).list();

    expect(refs).toContainEqual({ namespace: 'bookinfo', name: 'ratings' });
    expect(refs).not.toContainEqual({ namespace: 'bookinfo', name: 'untagged' });
    expect(refs.every((r) => r.namespace && r.name && !r.name.includes('/'))).toBe(true);
  });
});

describe('maintainServiceTokens', () => {
  it('refreshes the due token of a group with an enrolled task and removes an idle secret', async () => {
    const prefix = 'ecs-mesh-maintenance';
    const vaultOf = () => new SecretsManagerTokenVault(client(), prefix);
    const live = aGroup({ name: 'live', namespace: 'shop' });
    const idle = aGroup({ name: 'idle', namespace: 'shop' });
    const recent = aGroup({ name: 'recent', namespace: 'shop' });
    for (const group of [live, idle, recent]) await as('taskEvents', () => ensureServiceToken(group, depsWith({ vault: vaultOf() }), NOW), prefix);
    const idleSeconds = 7 * 86_400;
    const runAt = later(idleSeconds + 3600);
    // The records in a real enrollment table, read through its namespace index as on AWS.
    const table = 'ecs-mesh-enrollments-maintenance';
    await createEnrollmentTable(new DynamoDBClient(localAwsConfig()), table);
    const enrollments = new DynamoDbEnrollmentStore(DynamoDBDocumentClient.from(new DynamoDBClient(localAwsConfig())), table);
    await enrollments.put(aRecord({ taskId: 't1', namespace: 'shop', workloadGroup: 'live', phase: 'enrolled', updatedAt: NOW.toISOString() }));
    await enrollments.put(aRecord({ taskId: 't2', namespace: 'shop', workloadGroup: 'idle', phase: 'deregistered', updatedAt: NOW.toISOString() }));
    await enrollments.put(aRecord({ taskId: 't3', namespace: 'shop', workloadGroup: 'recent', phase: 'deregistered', updatedAt: later(idleSeconds).toISOString() }));
    // Another namespace's enrolled task of a group by the same name keeps nothing alive in this one.
    await enrollments.put(aRecord({ taskId: 't4', namespace: 'other', workloadGroup: 'idle', phase: 'enrolled', updatedAt: later(idleSeconds).toISOString() }));
    const groups = new Map([live, idle, recent].map((g) => [`${g.metadata.namespace}/${g.metadata.name}`, g]));
    const mesh = { getWorkloadGroup: async (ref: ObjectRef) => groups.get(`${ref.namespace}/${ref.name}`) };

    const summary = await asFunction({ fn: 'tokenMaintenance', params: { TokenSecretPrefix: prefix }, names: { EnrollmentTable: table } }, () =>
      maintainServiceTokens({ ...depsWith({ vault: vaultOf() }), enrollments, mesh, idleSeconds }, runAt),
    );

    expect(summary).toEqual({ refreshed: 1, removed: 1, kept: 1, failed: 0 });
    expect((await vaultOf().read(refOf(live)))?.document).toMatchObject({ issuedAt: runAt.toISOString() });
    expect(await vaultOf().read(refOf(idle))).toBeUndefined();
    expect((await vaultOf().read(refOf(recent)))?.document).toMatchObject({ issuedAt: NOW.toISOString() });
    expect(await vaultOf().list()).toEqual(expect.arrayContaining([refOf(live), refOf(recent)]));
    expect(await vaultOf().list()).toHaveLength(2);
    const liveDoc = await client().send(new GetSecretValueCommand({ SecretId: `${prefix}/shop/live` }));
    minted.add((JSON.parse(liveDoc.SecretString ?? '{}') as { token: string }).token);
  });
});

describe('a token signed with a withdrawn key', () => {
  it('is minted again with the signing key once the key is revoked, and kept while its key only retires', async () => {
    const prefix = 'ecs-mesh-revoked';
    const group = aGroup({ name: 'ratings', namespace: 'shop' });
    // Two containers of real key stores on one key set: the one that mints, and the keys Lambda.
    let clock = NOW.getTime();
    const keyStore = () =>
      new SecretsManagerKeyStore(client(), { secretName: `${prefix}/signing-keys`, alg: 'RS256', cacheSeconds: 300, retireAfterSeconds: LIFETIME + 300, prepublishSeconds: 3600 }, () => clock);
    const minter = keyStore();
    const keysLambda = keyStore();
    const deps = () => depsWith({ vault: new SecretsManagerTokenVault(client(), prefix), signers: { istio: minter, kuma: kumaSigner } });
    const mint = (at: Date) => as('taskEvents', () => ensureServiceToken(group, deps(), at), prefix);
    const first = await mint(NOW);

    const rotated = await keysLambda.rotate(later(1), { emergency: true });
    clock = later(10).getTime();
    const afterRotation = await mint(later(10));
    await keysLambda.revoke(first.kid, later(20));
    // Past the minter's version check (5 s), well within its key cache (300 s).
    clock = later(30).getTime();
    const afterRevocation = await mint(later(30));

    expect(afterRotation).toMatchObject({ outcome: 'fresh', kid: first.kid });
    expect(afterRevocation).toMatchObject({ outcome: 'minted', kid: rotated.activeKid, issuedAt: later(30).toISOString() });
    expect((await storedSecret({ namespace: 'shop', name: 'ratings' }, prefix)).kid).toBe(rotated.activeKid);
  });
});

describe("a container's token memory", () => {
  const MEMORY_MS = 300_000;

  /** One container: its memory (on a clock the test moves) and its vault (`wrap`ped when given), counting reads and writes. */
  function container(wrap: (vault: ServiceTokenVault) => ServiceTokenVault = (v) => v) {
    let clock = NOW.getTime();
    const memory = new ExpiringCache<EnsuredServiceToken>(MEMORY_MS, () => clock);
    const deps = depsWith();
    const { calls, counting } = countingVault(wrap(deps.vault));
    /** A batch at `at` (the clock moves with it): a new ensurer per batch, as task-events makes them. */
    const batch = (group: WorkloadGroup, at: Date) => {
      clock = at.getTime();
      return as('taskEvents', () => createServiceTokenEnsurer({ ...deps, vault: counting }, memory)(group, at));
    };
    return { batch, calls };
  }

  it('reads the secret once for many batches while the token is fresh, and reports it fresh', async () => {
    const group = aGroup({ name: 'remembered' });
    const { batch, calls } = container();

    const first = await batch(group, NOW);
    const later1 = await batch(group, later(60));
    const later2 = await batch(group, later(240));

    expect(first.outcome).toBe('minted');
    expect([later1.outcome, later2.outcome]).toEqual(['fresh', 'fresh']);
    expect(later2).toMatchObject({ kid: first.kid, expiresAt: first.expiresAt });
    expect(calls).toEqual({ read: 1, write: 1 });
    await storedSecret(refOf(group));
  });

  it('reads again, and mints once, when the remembered token is due for refresh', async () => {
    const group = aGroup({ name: 'remembered-due' });
    const { batch, calls } = container();
    await batch(group, NOW);
    const due = later(LIFETIME * (2 / 3) + 1);

    const refreshed = await batch(group, due);
    const after = await batch(group, later(LIFETIME * (2 / 3) + 61));

    expect(refreshed.outcome).toBe('minted');
    expect(after).toMatchObject({ outcome: 'fresh', issuedAt: due.toISOString() });
    expect(calls).toEqual({ read: 2, write: 2 });
    expect(await versionCount(refOf(group))).toBe(2);
    await storedSecret(refOf(group));
  });

  it('picks up a token another writer (maintenance, another container) refreshed once its memory runs out, without minting', async () => {
    const group = aGroup({ name: 'remembered-rotated' });
    const { batch, calls } = container();
    await batch(group, NOW);
    // Another writer replaces the token (as tokenMaintenance does when it finds it due).
    const elsewhere = later(120);
    const vault = new SecretsManagerTokenVault(client(), PREFIX);
    const stored = await vault.read(refOf(group));
    // Signed with the set's next key, which verifiers find beside the first.
    signer.published.add('rotated-key');
    const replaced = { ...stored!.document!, issuedAt: elsewhere.toISOString(), kid: 'rotated-key' };
    expect(await as('tokenMaintenance', () => vault.write(refOf(group), replaced, stored!.versionId))).toBe('written');

    const within = await batch(group, later(180));
    const past = await batch(group, new Date(NOW.getTime() + MEMORY_MS + 1000));

    // Within the memory the old token is still valid (it has not expired), so reporting it is true.
    expect(within).toMatchObject({ outcome: 'fresh', kid: 'test-key-1' });
    expect(past).toMatchObject({ outcome: 'fresh', kid: 'rotated-key', issuedAt: elsewhere.toISOString() });
    expect(calls).toEqual({ read: 2, write: 1 });
  });

  it('re-creates a secret removed since it was remembered, once its memory runs out', async () => {
    const group = aGroup({ name: 'remembered-removed' });
    const { batch, calls } = container();
    await batch(group, NOW);
    await as('tokenMaintenance', () => new SecretsManagerTokenVault(client(), PREFIX).remove(refOf(group)));

    const recreated = await batch(group, new Date(NOW.getTime() + MEMORY_MS + 1000));

    expect(recreated.outcome).toBe('minted');
    expect(calls).toEqual({ read: 2, write: 2 });
    expect(await storedSecret(refOf(group))).toMatchObject({ issuedAt: new Date(NOW.getTime() + MEMORY_MS + 1000).toISOString() });
  });

  it('reads and mints at once when the group asks for another profile', async () => {
    const base = aGroup({ name: 'remembered-profile' });
    const { batch, calls } = container();
    await batch(base, NOW);
    const kuma: WorkloadGroup = { ...base, metadata: { ...base.metadata, annotations: { [TOKEN_PROFILE_ANNOTATION]: 'kuma' } } };

    const switched = await batch(kuma, later(60));

    expect(switched).toMatchObject({ outcome: 'minted', profile: 'kuma', kid: 'test-kuma-key-1' });
    expect(calls).toEqual({ read: 2, write: 2 });
    expect(await storedSecret(refOf(base))).toMatchObject({ profile: 'kuma' });
  });

  it('does not remember a failed read: the next batch reads again', async () => {
    const group = aGroup({ name: 'remembered-failure' });
    let failures = 1;
    const { batch, calls } = container((vault) => ({ read: (ref) => (failures-- > 0 ? Promise.reject(new Error('Secrets Manager unavailable')) : vault.read(ref)), write: vault.write.bind(vault), list: vault.list.bind(vault), remove: vault.remove.bind(vault) }));

    await expect(batch(group, NOW)).rejects.toThrow('unavailable');
    const retried = await batch(group, later(1));

    expect(retried.outcome).toBe('minted');
    expect(calls).toEqual({ read: 2, write: 1 });
    await storedSecret(refOf(group));
  });
});

// Runs last (tests of a file run in order): every token minted above, none in any log line.
it('never writes a token to the log', () => {
  const logged = JSON.stringify(logs.flatMap((l) => l.lines));
  expect(minted.size).toBeGreaterThan(5);
  for (const token of minted) {
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(token.split('.')[2]);
  }
});
