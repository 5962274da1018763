/**
 * Policy writes (shared/app/manage-policies.ts) on the in-memory policy store: revisions as ETags,
 * If-Match / If-None-Match, no-op writes leaving no audit entry, and a write that loses a race.
 * The DynamoDB transaction itself is test/integration/policy-api.test.ts's.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { deletePolicy, putPolicy, type PolicyChangeRequest } from '../../shared/app/manage-policies.js';
import { PolicyConflictError } from '../../shared/errors.js';
import type { PolicyWrite } from '../../shared/ports.js';
import { ACCOUNT, NOW, aPolicy } from '../fixtures/builders.js';
import { InMemoryPolicyStore } from '../support/in-memory-ports.js';

const ACTOR = `arn:aws:iam::${ACCOUNT}:role/platform-admin`;
const request = (preconditions: PolicyChangeRequest['preconditions'] = {}): PolicyChangeRequest => ({ namespace: 'bookinfo', name: 'allow-ratings', preconditions, actor: ACTOR, now: NOW });
const v1 = aPolicy();
const v2 = aPolicy({ allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] });

let store: InMemoryPolicyStore;
beforeEach(() => {
  store = new InMemoryPolicyStore();
});

const history = async () => (await store.history('bookinfo', 'allow-ratings', 10)).map((c) => `${c.revision}:${c.action}`);

describe('putPolicy', () => {
  it('creates at revision 1 with its audit entry, and leaves no entry when the same document is applied again', async () => {
    const created = await putPolicy(store, { ...request({ ifNoneMatch: '*' }), policy: v1 });
    const again = await putPolicy(store, { ...request(), policy: v1 });

    expect(created).toMatchObject({ outcome: 'written', change: 'created', record: { revision: 1, updatedBy: ACTOR, stored: { valid: true } } });
    expect(again).toMatchObject({ outcome: 'written', change: 'unchanged', record: { revision: 1 } });
    expect(await history()).toEqual(['1:create']);
    expect((await store.history('bookinfo', 'allow-ratings', 1))[0]).toMatchObject({ actor: ACTOR, at: NOW.toISOString(), before: null, after: v1 });
  });

  it.each([
    { name: 'If-None-Match: * on an existing policy', preconditions: { ifNoneMatch: '*' as const }, detail: 'already exists at revision 1' },
    { name: 'If-Match on a stale revision', preconditions: { ifMatch: 7 }, detail: 'at revision 1, not 7' },
  ])('refuses $name with the current revision', async ({ preconditions, detail }) => {
    await putPolicy(store, { ...request(), policy: v1 });

    const outcome = await putPolicy(store, { ...request(preconditions), policy: v2 });

    expect(outcome).toEqual({ outcome: 'precondition-failed', currentRevision: 1, detail: expect.stringContaining(detail) });
    expect(await history()).toEqual(['1:create']);
  });

  it.each([{ ifMatch: '*' as const }, { ifMatch: 1 }])('refuses If-Match $ifMatch on a policy that does not exist', async (preconditions) => {
    expect(await putPolicy(store, { ...request(preconditions), policy: v1 })).toMatchObject({ outcome: 'precondition-failed', currentRevision: undefined });
  });

  it('updates at the revision read, with the document before and after in the audit trail', async () => {
    await putPolicy(store, { ...request(), policy: v1 });

    const updated = await putPolicy(store, { ...request({ ifMatch: 1 }), policy: v2 });

    expect(updated).toMatchObject({ outcome: 'written', change: 'updated', record: { revision: 2 } });
    expect((await store.history('bookinfo', 'allow-ratings', 1))[0]).toMatchObject({ revision: 2, action: 'update', before: v1, after: v2 });
  });

  it('replaces a stored document that no longer validates', async () => {
    store.seed('bookinfo', 'allow-ratings', { ...v1, metadata: { name: 'allow-ratings', namespace: 'other' } });
    expect((await store.listPolicies('bookinfo'))[0]).toMatchObject({ valid: false });

    expect(await putPolicy(store, { ...request({ ifMatch: 1 }), policy: v1 })).toMatchObject({ outcome: 'written', change: 'updated', record: { revision: 2 } });
    expect((await store.listPolicies('bookinfo'))[0]).toMatchObject({ valid: true, revision: 2 });
  });

  describe('a write that loses the race to another', () => {
    /** Another operator writes between this request's read and its conditional write. */
    function raceOnce(): void {
      const write = store.write.bind(store);
      let raced = false;
      store.write = async (change: PolicyWrite) => {
        if (!raced) {
          raced = true;
          await write({ ...change, after: v2, actor: 'someone-else' });
        }
        return write(change);
      };
    }

    it('asks a caller without preconditions to retry (conflict)', async () => {
      await putPolicy(store, { ...request(), policy: v1 });
      raceOnce();

      expect(await putPolicy(store, { ...request(), policy: aPolicy({ name: 'allow-ratings', allow: [] }) })).toEqual({ outcome: 'conflict', detail: expect.stringContaining('(now revision 2); retry') });
    });

    it('fails the precondition of a caller that gave one, naming the revision that won', async () => {
      await putPolicy(store, { ...request(), policy: v1 });
      raceOnce();

      expect(await putPolicy(store, { ...request({ ifMatch: 1 }), policy: aPolicy({ name: 'allow-ratings', allow: [] }) })).toMatchObject({ outcome: 'precondition-failed', currentRevision: 2 });
    });

    it('throws what is not a lost race', async () => {
      store.write = async () => {
        throw new Error('dynamodb:TransactWriteItems: throttled');
      };
      await expect(putPolicy(store, { ...request(), policy: v1 })).rejects.toThrow('throttled');
      store.write = async () => {
        throw new PolicyConflictError('lost');
      };
      await expect(putPolicy(store, { ...request(), policy: v1 })).resolves.toMatchObject({ outcome: 'conflict' });
    });
  });
});

describe('deletePolicy', () => {
  it('says not-found for an absent policy, but fails an If-Match that names a revision', async () => {
    expect(await deletePolicy(store, request())).toEqual({ outcome: 'not-found' });
    expect(await deletePolicy(store, request({ ifMatch: 3 }))).toMatchObject({ outcome: 'precondition-failed', currentRevision: undefined });
  });

  it('deletes at the next revision, and a policy created again carries on from it (an old ETag never matches)', async () => {
    await putPolicy(store, { ...request(), policy: v1 });

    expect(await deletePolicy(store, request({ ifMatch: 2 }))).toMatchObject({ outcome: 'precondition-failed', currentRevision: 1 });
    expect(await deletePolicy(store, request({ ifMatch: 1 }))).toEqual({ outcome: 'deleted', revision: 2 });
    expect(await store.get('bookinfo', 'allow-ratings')).toBeUndefined();
    expect(await putPolicy(store, { ...request({ ifNoneMatch: '*' }), policy: v1 })).toMatchObject({ change: 'created', record: { revision: 3 } });
    expect(await history()).toEqual(['3:create', '2:delete', '1:create']);
  });
});
