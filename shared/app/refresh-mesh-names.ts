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
import { changeBatches, isNameRecord, meshHost, planListeners, recordChanges, renderSidecar, SIDECAR_GROUP_LABEL, sidecarName, type MeshService, type RefusedUpstream } from '../core/mesh-names.js';
import { NAME_REASONS } from '../core/reasons.js';
import { readGroupDeclaration, type Upstream } from '../core/upstream-declaration.js';
import { MeshValidationError } from '../errors.js';
import type { MeshNamesApi, NameAddressBook, NameZone } from '../ports.js';
import type { Log } from './log.js';
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
  const { mesh, book, zone, settings, log } = deps;
  const now = deps.now?.() ?? new Date();
  const groups = await mesh.listWorkloadGroups();
  const declaring: Array<{ group: WorkloadGroup; upstreams: Upstream[]; appPort: number }> = [];
  const undeclared = new Set<string>();
  const refusedGroups: RefusedGroup[] = [];
  for (const group of groups) {
    const declaration = readGroupDeclaration(group, settings.zone);
    if (!declaration.declared) undeclared.add(groupKey(group));
    else if (!declaration.ok) refusedGroups.push({ group: groupKey(group), reason: declaration.reason, problems: declaration.problems });
    else declaring.push({ group, upstreams: declaration.upstreams, appPort: declaration.appPort });
  }

  const services = await servicesNamed(mesh, declaring.flatMap((d) => d.upstreams), settings.zone);
  const existing = new Map((await mesh.listOwnSidecars()).map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  // A group refused whole keeps what its Sidecar listens for, names included: a typo in an
  // annotation must not take names away from the tasks that use them.
  const keptByRefused = new Set(
    refusedGroups.flatMap(({ group }) => {
      const [namespace = '', name = ''] = group.split('/');
      const sidecar = existing.get(`${namespace}/${sidecarName({ namespace, name })}`);
      return (sidecar?.spec.egress ?? []).flatMap((listener) => listener.hosts.map((host) => host.slice(host.indexOf('/') + 1)));
    }),
  );
  // A name only for an upstream some group gets a listener for: a record with nothing listening
  // behind it would turn a refused upstream into refused connections. Planned before allocating,
  // with any address: which listeners a group gets does not depend on the addresses.
  const anyAddress = new Map([...services.keys()].map((host) => [host, PLANNING_ADDRESS]));
  const listened = declaring.flatMap(({ group, upstreams }) => planListeners(group, upstreams, services, anyAddress).listeners.map((l) => l.host));
  const wantedHosts = new Set([...listened, ...keptByRefused]);

  const records = await zone.listRecords();
  const ours = records.filter((r) => isNameRecord(r, settings.range));
  const stillPointedAt = new Set(ours.flatMap((r) => r.addresses));
  const allocation = await allocateAddresses(book, settings.range, wantedHosts, stillPointedAt, now);
  const wanted = new Map([...allocation.addresses].filter(([host]) => wantedHosts.has(host)));

  const changes = recordChanges(records, wanted, settings.range);
  const batches = changeBatches(changes);
  for (const batch of batches) await zone.change(batch);

  // Only now that the records are gone: free the addresses of names no longer wanted.
  const unwanted = new Map([...allocation.addresses].filter(([host]) => !wanted.has(host)));
  const freed = unwanted.size === 0 ? [] : await freeAddresses(book, unwanted, now);

  const outcome: MeshNamesOutcome = {
    groupsDeclaring: declaring.length,
    names: wanted.size,
    allocated: allocation.allocated,
    freed,
    recordChanges: changes.length,
    changeCalls: batches.length,
    sidecarsApplied: [],
    sidecarsDeleted: [],
    refusedUpstreams: [],
    refusedGroups,
  };
  for (const host of allocation.exhausted) log.warn('no free address for a mesh name: widen meshNameCidr', { host, reason: 'ADDRESSES_EXHAUSTED' });

  for (const { group, upstreams, appPort } of declaring) {
    const plan = planListeners(group, upstreams, services, wanted);
    outcome.refusedUpstreams.push(...plan.refused.map((r) => ({ ...r, group: groupKey(group) })));
    const sidecar = renderSidecar(group, appPort, plan.listeners);
    const key = `${sidecar.metadata.namespace}/${sidecar.metadata.name}`;
    const current = existing.get(key);
    existing.delete(key);
    if (sidecar.spec.ingress.length === 0 && !sidecar.spec.egress) {
      refusedGroups.push({ group: groupKey(group), reason: NAME_REASONS.UPSTREAMS_INVALID, problems: ['the group has no mesh port and no upstream with a listener: istiod refuses an empty Sidecar'] });
      continue;
    }
    if (current && isDeepStrictEqual(current.spec, sidecar.spec) && isDeepStrictEqual(current.metadata.labels, sidecar.metadata.labels)) continue;
    try {
      await mesh.applySidecar(sidecar);
      outcome.sidecarsApplied.push(key);
    } catch (error) {
      if (!(error instanceof MeshValidationError)) throw error;
      refusedGroups.push({ group: groupKey(group), reason: NAME_REASONS.UPSTREAMS_INVALID, problems: error.problems });
    }
  }
  // Ours, for a group that no longer declares (or no longer exists): the declaration went away.
  for (const [key, sidecar] of existing) {
    const group = `${sidecar.metadata.namespace}/${sidecar.metadata.labels[SIDECAR_GROUP_LABEL] ?? ''}`;
    if (refusedGroups.some((r) => r.group === group)) continue;
    if (await mesh.deleteSidecar(sidecar.metadata)) outcome.sidecarsDeleted.push(key);
  }
  for (const refused of outcome.refusedGroups) log.warn('a WorkloadGroup\'s upstreams are not used; its Sidecar is left as it was', { ...refused });
  for (const refused of outcome.refusedUpstreams) log.info('an upstream got no listener', { ...refused });
  return outcome;
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
