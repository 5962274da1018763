/**
 * Mesh names for ECS tasks (docs/architecture.md#mesh-names): Fargate gives a task no iptables, so its
 * istio-proxy (capture NONE) only takes what the app sends to an address it listens on. Each mesh
 * service a group may call gets a loopback address of its own (loopback-addresses.ts), an A record
 * in the mesh's private hosted zone pointing at it, and a listener on it in the group's Sidecar.
 * The app then calls `reviews.bookinfo.svc.cluster.local:9080` as a pod would.
 *
 * Pure decisions: which listeners a group gets, which record changes bring the zone to what is
 * wanted (in batches Route53 accepts), and the Sidecar itself.
 */
import type { ObjectRef, WorkloadGroup } from './kubernetes-types.js';
import { isInRange, type LoopbackRange } from './loopback-addresses.js';
import { NAME_REASONS, type NameReason } from './reasons.js';
import type { Upstream } from './upstream-declaration.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './workload-entry.js';

/** One port of a Kubernetes Service, as the names need it. */
export interface MeshServicePort {
  port: number;
  name?: string;
  appProtocol?: string;
}

/** A Kubernetes Service of the mesh. */
export interface MeshService {
  namespace: string;
  name: string;
  ports: MeshServicePort[];
}

/** The mesh name of a Service in the zone (`svc.cluster.local`). */
export const meshHost = (service: ObjectRef, zone: string): string => `${service.name}.${service.namespace}.${zone}`;

/**
 * A record's TTL. The address of a name never changes while the name exists, so resolvers may keep
 * it; a removed name answers NXDOMAIN within this time.
 */
export const NAME_TTL_SECONDS = 60;

/** An A record of the zone as Route53 lists it (name lowercase, without the trailing dot). */
export interface ZoneRecord {
  name: string;
  ttl: number;
  addresses: string[];
}

export type RecordChange = { action: 'UPSERT'; record: ZoneRecord } | { action: 'DELETE'; record: ZoneRecord };

/**
 * Route53 takes at most 1,000 ResourceRecord elements in one ChangeResourceRecordSets and counts
 * each of an UPSERT twice (Route53 Developer Guide, "Quotas": "Maximum number of elements in a
 * ChangeResourceRecordSets request").
 */
export const MAX_RECORD_ELEMENTS_PER_CALL = 1000;

/** Whether the record is one of ours: an A record whose every address is in the names' range. Operators' own records are left alone. */
export const isNameRecord = (record: ZoneRecord, range: LoopbackRange): boolean => record.addresses.length > 0 && record.addresses.every((a) => isInRange(range, a));

/**
 * The changes that bring the zone's records of ours to `wanted` (host → address): an UPSERT for a
 * name missing or pointing elsewhere, a DELETE (of the record exactly as listed, which Route53
 * requires) for a name of ours no longer wanted. Empty when the zone is as wanted: a refresh
 * that changes nothing calls nothing.
 */
export function recordChanges(current: readonly ZoneRecord[], wanted: ReadonlyMap<string, string>, range: LoopbackRange): RecordChange[] {
  const byName = new Map(current.map((r) => [r.name, r]));
  const changes: RecordChange[] = [];
  for (const [name, address] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
    const record = byName.get(name);
    if (record && record.ttl === NAME_TTL_SECONDS && record.addresses.length === 1 && record.addresses[0] === address) continue;
    changes.push({ action: 'UPSERT', record: { name, ttl: NAME_TTL_SECONDS, addresses: [address] } });
  }
  for (const record of current) if (!wanted.has(record.name) && isNameRecord(record, range)) changes.push({ action: 'DELETE', record });
  return changes;
}

/** Splits changes into calls Route53 accepts ({@link MAX_RECORD_ELEMENTS_PER_CALL}), in order. */
export function changeBatches(changes: readonly RecordChange[]): RecordChange[][] {
  const batches: RecordChange[][] = [];
  let batch: RecordChange[] = [];
  let elements = 0;
  for (const change of changes) {
    const weight = change.record.addresses.length * (change.action === 'UPSERT' ? 2 : 1);
    if (batch.length > 0 && elements + weight > MAX_RECORD_ELEMENTS_PER_CALL) {
      batches.push(batch);
      batch = [];
      elements = 0;
    }
    batch.push(change);
    elements += weight;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** One egress listener of a group's Sidecar: a mesh service's port, on its address. */
export interface EgressListener {
  host: string;
  service: ObjectRef;
  address: string;
  port: number;
  /** Istio's protocol name (HTTP, GRPC, TCP...). */
  protocol: string;
}

export interface RefusedUpstream {
  host: string;
  port?: number;
  reason: NameReason;
  detail: string;
}

/** istio-proxy runs as user 1337, not root: it binds only unprivileged ports (Fargate's default ip_unprivileged_port_start is 1024). */
export const LOWEST_BINDABLE_PORT = 1024;

/**
 * The listeners a group gets from its upstreams, and the upstreams refused. istiod refuses a
 * Sidecar with two IP-bound egress listeners on one port, whatever their bind addresses (istio
 * pkg/config/validation/validation.go, ValidateSidecar: "ports on IP bound listeners must be
 * unique"), and the group's mesh ports are bound on every address: so a port is given to the first
 * upstream declaring it and refused to the others (UPSTREAM_PORT_CONFLICT).
 */
export function planListeners(
  group: WorkloadGroup,
  upstreams: readonly Upstream[],
  services: ReadonlyMap<string, MeshService>,
  addresses: ReadonlyMap<string, string>,
): { listeners: EgressListener[]; refused: RefusedUpstream[] } {
  const listeners: EgressListener[] = [];
  const refused: RefusedUpstream[] = [];
  const meshPorts = new Set(Object.values(group.spec.template?.ports ?? {}));
  const portHolders = new Map<number, string>();
  for (const upstream of upstreams) {
    const refuse = (reason: NameReason, detail: string, port = upstream.port) => refused.push({ host: upstream.host, ...(port === undefined ? {} : { port }), reason, detail });
    const service = services.get(upstream.host);
    if (!service) {
      refuse(NAME_REASONS.UPSTREAM_SERVICE_NOT_FOUND, `no Service ${upstream.service.namespace}/${upstream.service.name}`);
      continue;
    }
    const address = addresses.get(upstream.host);
    const ports = upstream.port === undefined ? service.ports : service.ports.filter((p) => p.port === upstream.port);
    if (ports.length === 0) {
      refuse(NAME_REASONS.UPSTREAM_PORT_NOT_SERVED, `Service ${service.namespace}/${service.name} serves ${service.ports.map((p) => p.port).join(', ') || 'no port'}`);
      continue;
    }
    for (const servicePort of ports) {
      const { port } = servicePort;
      if (port < LOWEST_BINDABLE_PORT) refuse(NAME_REASONS.UPSTREAM_PORT_PRIVILEGED, `port ${port} is below ${LOWEST_BINDABLE_PORT}: istio-proxy, not root, cannot bind it`, port);
      else if (meshPorts.has(port)) refuse(NAME_REASONS.UPSTREAM_PORT_CONFLICT, `port ${port} is the group's own mesh port`, port);
      else if (portHolders.has(port)) refuse(NAME_REASONS.UPSTREAM_PORT_CONFLICT, `port ${port} is already ${portHolders.get(port)}'s`, port);
      else if (!address) refuse(NAME_REASONS.ADDRESSES_EXHAUSTED, `no address of the names' range is free for ${upstream.host}`, port);
      else {
        portHolders.set(port, upstream.host);
        listeners.push({ host: upstream.host, service: upstream.service, address, port, protocol: istioProtocol(servicePort) });
      }
    }
  }
  return { listeners, refused };
}

/** Istio's protocol for a Service port: its appProtocol, else its name's prefix (Istio's "explicit protocol selection"), else TCP. */
export function istioProtocol(port: MeshServicePort): string {
  const KNOWN = ['HTTP', 'HTTP2', 'HTTPS', 'GRPC', 'GRPC-WEB', 'TCP', 'TLS', 'MONGO', 'MYSQL', 'REDIS'];
  const fromAppProtocol = port.appProtocol?.toUpperCase();
  if (fromAppProtocol && KNOWN.includes(fromAppProtocol)) return fromAppProtocol;
  const prefix = port.name?.split('-')[0]?.toUpperCase();
  return prefix && KNOWN.includes(prefix) ? prefix : 'TCP';
}

/** The Sidecar of ours for a group: `<group>-ecs`, labelled as ours so a group that stops declaring loses it. */
export const sidecarName = (group: ObjectRef): string => `${group.name}-ecs`;

/** The label that says which group a Sidecar of ours is for. */
export const SIDECAR_GROUP_LABEL = 'ecsmesh.io/workload-group';

export interface Sidecar {
  apiVersion: 'networking.istio.io/v1';
  kind: 'Sidecar';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    workloadSelector: { labels: Record<string, string> };
    ingress: Array<{ port: { number: number; protocol: string; name: string }; defaultEndpoint: string; captureMode: 'NONE' }>;
    egress?: Array<{ port: { number: number; protocol: string; name: string }; bind: string; captureMode: 'NONE'; hosts: string[] }>;
  };
}

/**
 * The group's Sidecar, as the ECS example once wrote it by hand:
 * - workloadSelector: the labels the task template gives its proxy (ISTIO_METAJSON_LABELS: `app`
 *   = the group's name, and `ecsmesh.io/platform: ecs`), so pods of the same app keep their
 *   iptables and default Sidecar;
 * - ingress: each mesh port of the group, forwarded to the app on 127.0.0.1:<app port>;
 * - egress: one listener per upstream port, bound to the service's address, capture NONE, the
 *   host as `<namespace>/<fqdn>`.
 */
export function renderSidecar(group: WorkloadGroup, appPort: number, listeners: readonly EgressListener[]): Sidecar {
  const ref = { namespace: group.metadata.namespace, name: group.metadata.name };
  const ingress = Object.entries(group.spec.template?.ports ?? {})
    .sort(([, a], [, b]) => a - b)
    .map(([name, number]) => ({ port: { number, protocol: istioProtocol({ port: number, name }), name: portName(name) }, defaultEndpoint: `127.0.0.1:${appPort}`, captureMode: 'NONE' as const }));
  const egress = listeners.map((l) => ({
    port: { number: l.port, protocol: l.protocol, name: portName(`${l.protocol.toLowerCase()}-${l.service.name}-${l.port}`) },
    bind: l.address,
    captureMode: 'NONE' as const,
    hosts: [`${l.service.namespace}/${l.host}`],
  }));
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name: sidecarName(ref), namespace: ref.namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [SIDECAR_GROUP_LABEL]: ref.name } },
    spec: {
      workloadSelector: { labels: { app: ref.name, 'ecsmesh.io/platform': 'ecs' } },
      ingress,
      ...(egress.length > 0 ? { egress } : {}),
    },
  };
}

/** A DNS-1123 label of at most 63 characters (istio's ValidatePortName). */
function portName(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^-a-z0-9]/g, '-')
      .slice(0, 63)
      .replace(/^-+|-+$/g, '') || 'port'
  );
}
