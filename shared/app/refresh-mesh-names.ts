/**
 * One refresh of mesh names (docs/architecture.md#mesh-names): what every WorkloadGroup declares, the
 * Services it names, an address for each, the zone's records and the groups' Sidecars brought to
 * that, and the addresses of names no longer wanted freed once their records are gone. Idempotent:
 * a refresh of an unchanged mesh lists and changes nothing, so the scheduled one also repairs
 * whatever drifted (a record or a Sidecar edited or deleted by hand).
 *
 * Order, for "never reused while a record points at it": records are read first and their
 * addresses are held even when the book lost them; a name's record is deleted before its address
 * is freed, so a crash in between leaves a held address, never one handed to two names.
 */
import { isDeepStrictEqual } from 'node:util';
import type { WorkloadGroup } from '../core/kubernetes-types.js';
import type { LoopbackRange } from '../core/loopback-addresses.js';
import { changeBatches, isNameRecord, meshHost, planListeners, recordChanges, renderSidecar, SIDECAR_GROUP_LABEL, sidecarName, type MeshService, type RefusedUpstream, type Sidecar } from '../core/mesh-names.js';
import { NAME_REASONS } from '../core/reasons.js';
import { readGroupDeclaration, type Upstream } from '../core/upstream-declaration.js';
import { MeshValidationError } from '../errors.js';
import type { Log, MeshNamesApi, NameAddressBook, NameZone } from '../ports.js';
import { allocateAddresses, freeAddresses } from './mesh-name-addresses.js';

/** Stands in for every address while planning which upstreams get a listener (planListeners only checks one exists). */
const PLANNING_ADDRESS = '127.0.0.1';

export interface MeshNamesSettings {
  /** The private hosted zone's name: `svc.cluster.local`. */
  zone: string;
  range: LoopbackRange;
}

export interface MeshNamesDeps {
  mesh: MeshNamesApi;
  book: NameAddressBook;
  zone: NameZone;
  settings: MeshNamesSettings;
  log: Log;
  /** The clock freed addresses' quarantine is kept by (tests inject one). */
  now?: () => Date;
}

/** A group whose declaration or Sidecar could not be used, and why; its Sidecar is left as it was. */
export interface RefusedGroup {
  group: string;
  reason: string;
  problems: string[];
}

/** What a refresh did: the figures the logs, the reconciler and the bench read. */
export interface MeshNamesOutcome {
  groupsDeclaring: number;
  names: number;
  allocated: string[];
  freed: string[];
  /** Record changes applied, and the ChangeResourceRecordSets calls they took. */
  recordChanges: number;
  changeCalls: number;
  sidecarsApplied: string[];
  sidecarsDeleted: string[];
  refusedUpstreams: Array<RefusedUpstream & { group: string }>;
  refusedGroups: RefusedGroup[];
}

export async function refreshMeshNames(deps: MeshNamesDeps): Promise<MeshNamesOutcome> {
  const { mesh, log } = deps;
  const { declaring, refusedGroups } = readDeclarations(await mesh.listWorkloadGroups(), deps.settings.zone);
  const services = await servicesNamed(mesh, declaring.flatMap((d) => d.upstreams), deps.settings.zone);
  const existing = new Map((await mesh.listOwnSidecars()).map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  // A group refused whole keeps what its Sidecar listens for, names included: a typo in an
  // annotation must not take names away from the tasks that use them.
  const keptByRefused = refusedGroups.flatMap(({ group }) => {
    const [namespace = '', name = ''] = group.split('/');
    const sidecar = existing.get(`${namespace}/${sidecarName({ namespace, name })}`);
    return (sidecar?.spec.egress ?? []).flatMap((listener) => listener.hosts.map((host) => host.slice(host.indexOf('/') + 1)));
  });
  // A name only for an upstream some group gets a listener for: a record with nothing listening
  // behind it would turn a refused upstream into refused connections. Planned before allocating,
  // with any address: which listeners a group gets does not depend on the addresses.
  const anyAddress = new Map([...services.keys()].map((host) => [host, PLANNING_ADDRESS]));
  const listened = declaring.flatMap(({ group, upstreams }) => planListeners(group, upstreams, services, anyAddress).listeners.map((l) => l.host));

  const names = await refreshRecords(deps, new Set([...listened, ...keptByRefused]));
  const outcome: MeshNamesOutcome = { groupsDeclaring: declaring.length, ...names.figures, sidecarsApplied: [], sidecarsDeleted: [], refusedUpstreams: [], refusedGroups };
  await refreshSidecars(mesh, declaring, services, names.wanted, existing, outcome);
  for (const refused of outcome.refusedGroups) log.warn("a WorkloadGroup's upstreams are not used; its Sidecar is left as it was", { ...refused });
  for (const refused of outcome.refusedUpstreams) log.info('an upstream got no listener', { ...refused });
  return outcome;
}

interface Declaring {
  group: WorkloadGroup;
  upstreams: Upstream[];
  appPort: number;
}

/** The groups that declare upstreams, and those whose declaration cannot be used (refused whole). */
function readDeclarations(groups: readonly WorkloadGroup[], zone: string): { declaring: Declaring[]; refusedGroups: RefusedGroup[] } {
  const declaring: Declaring[] = [];
  const refusedGroups: RefusedGroup[] = [];
  for (const group of groups) {
    const declaration = readGroupDeclaration(group, zone);
    if (!declaration.declared) continue;
    if (!declaration.ok) refusedGroups.push({ group: groupKey(group), reason: declaration.reason, problems: declaration.problems });
    else declaring.push({ group, upstreams: declaration.upstreams, appPort: declaration.appPort });
  }
  return { declaring, refusedGroups };
}

/**
 * Addresses for the wanted names, the zone's records brought to them, then the addresses of names
 * no longer wanted freed: only once the change that deleted their records succeeded.
 */
async function refreshRecords(deps: MeshNamesDeps, wantedHosts: ReadonlySet<string>) {
  const { book, zone, settings, log } = deps;
  const now = deps.now?.() ?? new Date();
  const records = await zone.listRecords();
  // Addresses a record still points at are never handed out, even when the book lost them.
  const stillPointedAt = new Set(records.filter((r) => isNameRecord(r, settings.range)).flatMap((r) => r.addresses));
  const allocation = await allocateAddresses(book, settings.range, wantedHosts, stillPointedAt, now);
  for (const host of allocation.exhausted) log.warn('no free address for a mesh name: widen meshNameCidr', { host, reason: NAME_REASONS.ADDRESSES_EXHAUSTED });
  const wanted = new Map([...allocation.addresses].filter(([host]) => wantedHosts.has(host)));

  const changes = recordChanges(records, wanted, settings.range);
  const batches = changeBatches(changes);
  for (const batch of batches) await zone.change(batch);

  const unwanted = new Map([...allocation.addresses].filter(([host]) => !wanted.has(host)));
  const freed = unwanted.size === 0 ? [] : await freeAddresses(book, unwanted, now);
  return { wanted, figures: { names: wanted.size, allocated: allocation.allocated, freed, recordChanges: changes.length, changeCalls: batches.length } };
}

/**
 * Each declaring group's Sidecar applied when it differs from ours (drift included), and ours
 * deleted for groups that no longer declare (or no longer exist); a refused group keeps its own.
 */
async function refreshSidecars(
  mesh: MeshNamesApi,
  declaring: readonly Declaring[],
  services: ReadonlyMap<string, MeshService>,
  wanted: ReadonlyMap<string, string>,
  existing: Map<string, Sidecar>,
  outcome: MeshNamesOutcome,
): Promise<void> {
  const refuse = (group: WorkloadGroup, problems: string[]) => outcome.refusedGroups.push({ group: groupKey(group), reason: NAME_REASONS.UPSTREAMS_INVALID, problems });
  for (const { group, upstreams, appPort } of declaring) {
    const plan = planListeners(group, upstreams, services, wanted);
    outcome.refusedUpstreams.push(...plan.refused.map((r) => ({ ...r, group: groupKey(group) })));
    const sidecar = renderSidecar(group, appPort, plan.listeners);
    const key = `${sidecar.metadata.namespace}/${sidecar.metadata.name}`;
    const current = existing.get(key);
    existing.delete(key);
    if (sidecar.spec.ingress.length === 0 && !sidecar.spec.egress) {
      refuse(group, ['the group has no mesh port and no upstream with a listener: istiod refuses an empty Sidecar']);
      continue;
    }
    if (current && isDeepStrictEqual(current.spec, sidecar.spec) && isDeepStrictEqual(current.metadata.labels, sidecar.metadata.labels)) continue;
    try {
      await mesh.applySidecar(sidecar);
      outcome.sidecarsApplied.push(key);
    } catch (error) {
      if (!(error instanceof MeshValidationError)) throw error;
      refuse(group, error.problems);
    }
  }
  for (const [key, sidecar] of existing) {
    const group = `${sidecar.metadata.namespace}/${sidecar.metadata.labels[SIDECAR_GROUP_LABEL] ?? ''}`;
    if (outcome.refusedGroups.some((r) => r.group === group)) continue;
    if (await mesh.deleteSidecar(sidecar.metadata)) outcome.sidecarsDeleted.push(key);
  }
}

const groupKey = (group: WorkloadGroup): string => `${group.metadata.namespace}/${group.metadata.name}`;

/** The Services the upstreams name, by mesh name: one list per namespace named. */
async function servicesNamed(mesh: MeshNamesApi, upstreams: readonly Upstream[], zone: string): Promise<Map<string, MeshService>> {
  const byHost = new Map<string, MeshService>();
  for (const namespace of new Set(upstreams.map((u) => u.service.namespace))) {
    for (const service of await mesh.listServices(namespace)) byHost.set(meshHost(service, zone), service);
  }
  return byHost;
}
