/**
 * Makes sure a service's data-plane token secret exists and is fresh (docs/architecture.md#enrollment, #tokens), so a
 * sidecar that reads it at start can start. Many Lambdas may do this at once for one service:
 * the vault's write replaces exactly the version read, and the losers are told 'superseded'.
 */
import { randomUUID } from 'node:crypto';
import type { ObjectRef, WorkloadGroup } from '../core/kubernetes-types.js';
import { groupKey, needsRefresh, serviceTokenDocument } from '../core/service-token.js';
import { profileFor, serviceTokenClaims } from '../core/token-claims.js';
import type { ServiceTokenDocument, TokenProfile } from '../core/tokens.js';
import type { Log, ServiceTokenVault, TokenSigners } from '../ports.js';

/** What minting a service token needs, built once per Lambda container. */
export interface ServiceTokenDeps {
  vault: ServiceTokenVault;
  /** The profile's signer signs its tokens: each profile has its own key set. */
  signers: TokenSigners;
  log: Log;
  issuer: string;
  audiences: readonly string[];
  /** The mesh's name (MESH_NAME); not `mesh`, which the use cases use for the MeshApi. */
  meshName: string;
  defaultProfile: TokenProfile;
  lifetimeSeconds: number;
  /** The token id (`jti`); a random UUID unless a test fixes it. */
  newTokenId?: () => string;
}

/** What happened to the secret; never the token itself. */
export interface EnsuredServiceToken {
  /** fresh: kept as is; minted: we wrote a new version; superseded: a concurrent writer did. */
  outcome: 'fresh' | 'minted' | 'superseded';
  expiresAt: string;
  issuedAt: string;
  kid: string;
  profile: TokenProfile;
}

/**
 * What a container remembers of each service's token (its times, kid and profile; never the
 * token), so the secret is read again only when the token nears refresh, its group asks for
 * another profile, or the memory's own age runs out. Created once per container, bounded in
 * size and age (an ExpiringCache, single-flight: concurrent misses share one read).
 */
export interface ServiceTokenMemory {
  getOrLoad(key: string, load: () => Promise<EnsuredServiceToken>): Promise<EnsuredServiceToken>;
  delete(key: string): void;
}

/** Reads the service's token and mints a new one when it is missing, due, of another profile or signed with a withdrawn key. */
export async function ensureServiceToken(group: WorkloadGroup, deps: ServiceTokenDeps, now: Date): Promise<EnsuredServiceToken> {
  const ref: ObjectRef = { namespace: group.metadata.namespace, name: group.metadata.name };
  const workloadGroup = groupKey(ref);
  const { profile, ignoredAnnotation } = profileFor(group, deps.defaultProfile);
  if (ignoredAnnotation !== undefined)
    deps.log.warn('unknown token profile annotation; using the default', { workloadGroup, annotation: ignoredAnnotation, profile });

  const stored = await deps.vault.read(ref);
  const current = stored?.document;
  const due = !current || needsRefresh(current, now) || current.profile !== profile;
  // A token whose key was revoked (keys revoke) no longer verifies: it is minted again, however fresh.
  const withdrawn = !due && !(await deps.signers[profile].publishes(current.kid, now));
  if (!due && !withdrawn) return summary('fresh', current);

  const claims = serviceTokenClaims({ profile, group, issuer: deps.issuer, audiences: deps.audiences, mesh: deps.meshName, now, lifetimeSeconds: deps.lifetimeSeconds, jti: (deps.newTokenId ?? randomUUID)() });
  const signed = await deps.signers[profile].sign(claims, now);
  const document = serviceTokenDocument(signed, claims, profile, ref);
  const written = await deps.vault.write(ref, document, stored?.versionId);

  if (written === 'superseded') {
    // Report the winner's token, which is the one the secret holds now.
    const winner = (await deps.vault.read(ref))?.document ?? document;
    deps.log.info('service token minted concurrently by another writer', { workloadGroup, kid: winner.kid, expiresAt: winner.expiresAt });
    return summary('superseded', winner);
  }
  deps.log.info('service token minted', { workloadGroup, profile, kid: document.kid, expiresAt: document.expiresAt, replaced: stored ? (withdrawn ? 'key withdrawn' : current ? 'due' : 'unreadable') : 'none' });
  return summary('minted', document);
}

/** Ensures a group's token for one batch of events. */
export type ServiceTokenEnsurer = (group: WorkloadGroup, now: Date) => Promise<EnsuredServiceToken>;

/**
 * One ensurer per batch: every event of a service shares one promise, so a batch of 50 events
 * for one service makes one read and at most one write. A failure is not kept, so a later
 * event of the batch tries again. With a container's `memory`, a token known to be fresh is not
 * read again at all until it is due (see ServiceTokenMemory).
 */
export function createServiceTokenEnsurer(deps: ServiceTokenDeps, memory?: ServiceTokenMemory): ServiceTokenEnsurer {
  const inFlight = new Map<string, Promise<EnsuredServiceToken>>();
  return (group, now) => {
    const key = groupKey(group.metadata);
    const existing = inFlight.get(key);
    if (existing) return existing;
    const started = memory ? ensureRemembered(key, group, deps, memory, now) : ensureServiceToken(group, deps, now);
    inFlight.set(key, started);
    started.catch(() => inFlight.delete(key));
    return started;
  };
}

/**
 * Serves a remembered token while it is fresh at `now` and of the profile the group asks for;
 * otherwise forgets it and reads the secret (never mints blind: another container or the
 * maintenance run may have refreshed it already, and the write must name the version read).
 */
async function ensureRemembered(key: string, group: WorkloadGroup, deps: ServiceTokenDeps, memory: ServiceTokenMemory, now: Date): Promise<EnsuredServiceToken> {
  const { profile } = profileFor(group, deps.defaultProfile);
  let read: EnsuredServiceToken | undefined;
  const load = async () => (read = await ensureServiceToken(group, deps, now));
  const known = await memory.getOrLoad(key, load);
  if (read) return read;
  if (known.profile === profile && !needsRefresh(known, now)) return { ...known, outcome: 'fresh' };
  memory.delete(key);
  return memory.getOrLoad(key, load);
}

function summary(outcome: EnsuredServiceToken['outcome'], document: ServiceTokenDocument): EnsuredServiceToken {
  return { outcome, expiresAt: document.expiresAt, issuedAt: document.issuedAt, kid: document.kid, profile: document.profile };
}
