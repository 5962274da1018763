/**
 * A service's data-plane token kept ready (shared/app/ensure-service-token.ts) on the in-memory
 * vault with a manual clock: kept while fresh, minted when missing, due, of another profile or
 * signed with a withdrawn key; a concurrent writer's token reported; one read per service per
 * batch, and a container's memory. Scheduled upkeep is test/unit/maintain-service-tokens.test.ts's.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createServiceTokenEnsurer, ensureServiceToken, type ServiceTokenDeps } from '../../shared/app/ensure-service-token.js';
import { ExpiringCache } from '../../shared/adapters/expiring-cache.js';
import { TOKEN_PROFILE_ANNOTATION } from '../../shared/core/tokens.js';
import { aGroup } from '../fixtures/builders.js';
import { InMemoryServiceTokenVault, ManualClock, TestTokenSigner } from '../support/in-memory-ports.js';
import { MemoryLog } from '../support/memory-log.js';

const LIFETIME_SECONDS = 3 * 3600;
const GROUP = aGroup();
const KEY = 'bookinfo/ratings';

let clock: ManualClock;
let vault: InMemoryServiceTokenVault;
let signer: TestTokenSigner;
let kumaSigner: TestTokenSigner;
let deps: ServiceTokenDeps;
let reads: number;

beforeEach(async () => {
  clock = new ManualClock('2026-12-05T12:00:00.000Z');
  vault = new InMemoryServiceTokenVault();
  reads = 0;
  const read = vault.read.bind(vault);
  vault.read = (ref) => (reads++, read(ref));
  signer = await TestTokenSigner.create('istio-kid', 'ES256');
  kumaSigner = await TestTokenSigner.create('kuma-kid', 'ES256');
  deps = { vault, signers: { istio: signer, kuma: kumaSigner }, log: new MemoryLog(), issuer: 'https://issuer.example', audiences: ['istio-ca'], meshName: 'mesh', defaultProfile: 'istio', lifetimeSeconds: LIFETIME_SECONDS, newTokenId: () => 'jti-1' };
});

describe('ensureServiceToken', () => {
  it('mints a missing token, then keeps it while more than a third of its lifetime is left', async () => {
    const minted = await ensureServiceToken(GROUP, deps, clock.now());
    clock.advance(LIFETIME_SECONDS / 2);
    const kept = await ensureServiceToken(GROUP, deps, clock.now());

    expect(minted).toMatchObject({ outcome: 'minted', profile: 'istio', kid: 'istio-kid', issuedAt: '2026-12-05T12:00:00.000Z' });
    expect(kept).toEqual({ ...minted, outcome: 'fresh' });
    expect(vault.writes).toEqual([KEY]);
    const { payload } = await signer.verify(vault.secrets.get(KEY)!.document.token, clock.now());
    expect(payload).toMatchObject({ iss: 'https://issuer.example', jti: 'jti-1' });
  });

  it('mints again once the token is due', async () => {
    await ensureServiceToken(GROUP, deps, clock.now());
    clock.advance((LIFETIME_SECONDS * 2) / 3 + 1);

    expect(await ensureServiceToken(GROUP, deps, clock.now())).toMatchObject({ outcome: 'minted', issuedAt: clock.now().toISOString() });
    expect(vault.writes).toEqual([KEY, KEY]);
  });

  it('mints with the other profile’s own key when the group asks for it', async () => {
    await ensureServiceToken(GROUP, deps, clock.now());
    const kuma = aGroup();
    kuma.metadata.annotations = { [TOKEN_PROFILE_ANNOTATION]: 'kuma' };

    expect(await ensureServiceToken(kuma, deps, clock.now())).toMatchObject({ outcome: 'minted', profile: 'kuma', kid: 'kuma-kid' });
  });

  it('mints again a fresh token whose key was withdrawn', async () => {
    const first = await ensureServiceToken(GROUP, deps, clock.now());
    signer.published.add('next-kid');
    vault.secrets.get(KEY)!.document.kid = 'revoked-kid';

    expect(await ensureServiceToken(GROUP, deps, clock.now())).toMatchObject({ outcome: 'minted', kid: 'istio-kid' });
    expect(first.outcome).toBe('minted');
    expect(vault.writes).toHaveLength(2);
  });

  it('reports the token a concurrent writer stored when its own write is superseded', async () => {
    const write = vault.write.bind(vault);
    vault.write = async (ref, document, replacing) => {
      await write(ref, { ...document, kid: 'winner-kid' }, replacing);
      return write(ref, document, replacing);
    };

    expect(await ensureServiceToken(GROUP, deps, clock.now())).toMatchObject({ outcome: 'superseded', kid: 'winner-kid' });
  });
});

describe('createServiceTokenEnsurer', () => {
  it('reads and mints once per service in a batch, and does not keep a failure', async () => {
    const ensure = createServiceTokenEnsurer(deps);
    const [a, b] = await Promise.all([ensure(GROUP, clock.now()), ensure(GROUP, clock.now())]);
    expect(a).toBe(b);
    expect([reads, vault.writes.length]).toEqual([1, 1]);

    const read = vault.read.bind(vault);
    let failures = 1;
    vault.read = (ref) => (failures-- > 0 ? Promise.reject(new Error('throttled')) : read(ref));
    const reviews = aGroup({ name: 'reviews' });
    await expect(ensure(reviews, clock.now())).rejects.toThrow('throttled');
    expect(await ensure(reviews, clock.now())).toMatchObject({ outcome: 'minted' });
  });

  it("with a container's memory, reads the secret again only when the remembered token is due", async () => {
    const memory = new ExpiringCache<Awaited<ReturnType<typeof ensureServiceToken>>>(24 * 3600_000, () => clock.now().getTime());
    await createServiceTokenEnsurer(deps, memory)(GROUP, clock.now());
    clock.advance(LIFETIME_SECONDS / 2);

    expect(await createServiceTokenEnsurer(deps, memory)(GROUP, clock.now())).toMatchObject({ outcome: 'fresh' });
    expect(reads).toBe(1);

    clock.advance(LIFETIME_SECONDS / 4);
    expect(await createServiceTokenEnsurer(deps, memory)(GROUP, clock.now())).toMatchObject({ outcome: 'minted' });
    expect(reads).toBe(2);
  });
});
