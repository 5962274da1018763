/**
 * Token upkeep (shared/app/maintain-service-tokens.ts) on in-memory ports with an injected clock:
 * what each service's secret becomes in one run. The Secrets Manager behaviour (versions,
 * concurrent writers) is test/integration/service-tokens.test.ts's.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { maintainServiceTokens, type TokenMaintenanceDeps } from '../../shared/app/maintain-service-tokens.js';
import type { WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { UpstreamThrottledError } from '../../shared/errors.js';
import { aGroup, aRecord } from '../fixtures/builders.js';
import { InMemoryEnrollmentStore, InMemoryServiceTokenVault, TestTokenSigner } from '../support/in-memory-ports.js';
import { MemoryLog } from '../support/memory-log.js';

const NOW = new Date('2026-12-05T12:00:00.000Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const IDLE_SECONDS = 7 * 86_400;
const LIFETIME_SECONDS = 86_400;

let vault: InMemoryServiceTokenVault;
let enrollments: InMemoryEnrollmentStore;
let groups: Map<string, WorkloadGroup>;
let signer: TestTokenSigner;
let log: MemoryLog;

const deps = (): TokenMaintenanceDeps => ({
  vault,
  enrollments,
  mesh: { getWorkloadGroup: async (ref) => groups.get(`${ref.namespace}/${ref.name}`) },
  signers: { istio: signer, kuma: signer },
  log,
  issuer: 'https://issuer.example',
  audiences: ['istio-ca'],
  meshName: 'default',
  defaultProfile: 'istio',
  lifetimeSeconds: LIFETIME_SECONDS,
  idleSeconds: IDLE_SECONDS,
  newTokenId: () => 'jti-1',
});

/** A token of `name` issued `ageMs` before NOW, living a day. */
function storeToken(name: string, ageMs: number): void {
  const issuedAt = new Date(NOW.getTime() - ageMs);
  vault.secrets.set(`bookinfo/${name}`, { versionId: `seed-${name}`, document: { token: 'x.y.z', issuedAt: issuedAt.toISOString(), expiresAt: new Date(issuedAt.getTime() + LIFETIME_SECONDS * 1000).toISOString(), kid: signer.kid, profile: 'istio', workloadGroup: `bookinfo/${name}` } });
}

/** A task record of group `name`, last written `ageMs` before NOW. */
async function task(name: string, phase: 'enrolled' | 'deregistered', ageMs: number, taskId = `${name}-task`): Promise<void> {
  enrollments.records.set(taskId, aRecord({ taskId, phase, namespace: 'bookinfo', workloadGroup: name, updatedAt: new Date(NOW.getTime() - ageMs).toISOString() }));
}

beforeEach(async () => {
  vault = new InMemoryServiceTokenVault();
  enrollments = new InMemoryEnrollmentStore();
  groups = new Map(['ratings', 'reviews', 'details'].map((name) => [`bookinfo/${name}`, aGroup({ name })]));
  signer = await TestTokenSigner.create('kid-1', 'ES256');
  log = new MemoryLog();
});

describe('maintainServiceTokens', () => {
  it('refreshes the token of a service with enrolled tasks once a third of its lifetime is left, and keeps a fresh one untouched', async () => {
    storeToken('ratings', 20 * HOUR);
    storeToken('reviews', 1 * HOUR);
    await task('ratings', 'enrolled', HOUR);
    await task('reviews', 'enrolled', HOUR);

    const summary = await maintainServiceTokens(deps(), NOW);

    expect(summary).toEqual({ refreshed: 1, removed: 0, kept: 1, failed: 0 });
    expect(vault.writes).toEqual(['bookinfo/ratings']);
    expect(vault.secrets.get('bookinfo/ratings')?.document.issuedAt).toBe(NOW.toISOString());
    const { payload } = await signer.verify(vault.secrets.get('bookinfo/ratings')!.document.token, NOW);
    expect(payload).toMatchObject({ sub: 'system:serviceaccount:bookinfo:bookinfo-ratings', iss: 'https://issuer.example' });
  });

  it('removes the secret of a service idle past TOKEN_SECRET_IDLE_SECONDS, and keeps one whose last task stopped more recently', async () => {
    storeToken('ratings', 8 * DAY);
    storeToken('reviews', 8 * DAY);
    await task('ratings', 'deregistered', 8 * DAY);
    await task('reviews', 'deregistered', 2 * DAY);

    const summary = await maintainServiceTokens(deps(), NOW);

    expect(summary).toEqual({ refreshed: 0, removed: 1, kept: 1, failed: 0 });
    expect(vault.removed).toEqual(['bookinfo/ratings']);
  });

  it('keeps a token whose group is gone while tasks are enrolled, and says why', async () => {
    storeToken('details', 20 * HOUR);
    await task('details', 'enrolled', HOUR);
    groups.delete('bookinfo/details');

    expect(await maintainServiceTokens(deps(), NOW)).toEqual({ refreshed: 0, removed: 0, kept: 1, failed: 0 });
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'service token kept: its WorkloadGroup is gone but tasks are enrolled' }));
  });

  it('never removes a secret whose records could not all be read: that secret fails the run and is tried again', async () => {
    storeToken('ratings', 8 * DAY);
    await task('ratings', 'deregistered', 8 * DAY);
    enrollments.getMany = async () => {
      throw new UpstreamThrottledError('BatchGetItem left 1 of 1 enrollment records unread after 5 attempts');
    };

    const summary = await maintainServiceTokens(deps(), NOW);

    expect(summary).toEqual({ refreshed: 0, removed: 0, kept: 0, failed: 1 });
    expect(vault.removed).toEqual([]);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'error', extra: expect.objectContaining({ workloadGroup: 'bookinfo/ratings', code: 'UPSTREAM_THROTTLED' }) }));
  });
});
