/**
 * What istiod serves as endpoints of a Kubernetes Service that selects WorkloadEntries, ported to
 * TypeScript from istio/istio at ISTIO_COMMIT (./upstream.ts). Each function names the Go function
 * it ports; the path is relative to the istio repository. Only the path a WorkloadEntry takes to a
 * Kubernetes Service's EDS is modelled: ServiceEntry selection, pods, EndpointSlices, ambient and
 * the xDS encoding are not.
 *
 * The path, upstream:
 * 1. serviceentry Controller.buildCollections drops an entry that is not isHealthy (health checks
 *    are on by default), then converts it with ConvertWorkloadEntry and
 *    convertWorkloadEntryToWorkloadInstance.
 * 2. serviceentry Controller.pushWorkloadUpdates hands the instance to the Kubernetes registry
 *    unless it is DNSServiceEntryOnly (a hostname or unix address).
 * 3. kube Controller.workloadInstanceHandler indexes it; collectWorkloadInstanceEndpoints and
 *    serviceInstancesFromWorkloadInstances select it for every ClientSideLB Service with a
 *    selector in its namespace, and serviceInstanceFromWorkloadInstance picks its port.
 */
import { isIP } from 'node:net';
import { CONDITION_HEALTHY, ISTIOD_ANNOTATIONS, ISTIOD_FEATURE_DEFAULTS } from './upstream.js';

/** The WorkloadEntry fields istiod reads (networking.istio.io/v1), status included. */
export interface ModelWorkloadEntry {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    address?: string;
    labels?: Record<string, string>;
    ports?: Record<string, number>;
    weight?: number;
    locality?: string;
    network?: string;
    serviceAccount?: string;
  };
  status?: { conditions?: ModelCondition[] };
}

/** An IstioCondition (istio.io/api meta/v1alpha1) as stored in a WorkloadEntry's status. */
export interface ModelCondition {
  type: string;
  status: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
  message?: string;
  reason?: string;
}

/** A core/v1 Service's fields istiod reads. `targetPort` as the API server stores it (a number or a port name). */
export interface ModelService {
  metadata: { name: string; namespace: string };
  spec: {
    selector?: Record<string, string>;
    clusterIP?: string;
    type?: string;
    externalName?: string;
    ports: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
  };
}

/** One endpoint istiod would serve for a Service port (a subset of model.IstioEndpoint). */
export interface ModelEndpoint {
  /** The WorkloadEntry it comes from (`namespace/name`). */
  workloadEntry: string;
  address: string;
  /** The port traffic goes to on the workload. */
  endpointPort: number;
  servicePortName: string;
  servicePort: number;
  /** LbWeight: the entry's spec.weight, 0 when unset. */
  weight: number;
  /** `region/zone/subzone`, '' when unknown. */
  locality: string;
  /** The entry's spec.network (not the callback's: upstream sets Endpoint.Network from the spec only). */
  network: string;
  labels: Record<string, string>;
  tlsMode: string;
  serviceAccount: string;
}

/** model.WorkloadInstance, reduced to what the Kubernetes registry uses. */
export interface ModelWorkloadInstance {
  name: string;
  namespace: string;
  address: string;
  network: string;
  locality: string;
  weight: number;
  labels: Record<string, string>;
  tlsMode: string;
  serviceAccount: string;
  workloadName: string;
  portMap: Record<string, number>;
  dnsServiceEntryOnly: boolean;
}

/** The registry settings the conversion depends on. */
export interface ConversionOptions {
  /** The Kubernetes registry's cluster ID (Locality.ClusterID, label topology.istio.io/cluster). */
  clusterId: string;
  /** MeshConfig.trustDomain, for the SPIFFE identity. */
  trustDomain?: string;
  /** networkIDCallback (kube Controller.Network): the network of an address when the entry names none. */
  networkOf?: (address: string, labels: Record<string, string>) => string;
  /** features.WorkloadEntryHealthChecks. */
  workloadEntryHealthChecks?: boolean;
}

const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
const UNIX_ADDRESS_PREFIX = 'unix://';

/**
 * istio: pilot/pkg/serviceregistry/serviceentry/conversion.go, parseHealthAnnotation. Go's
 * strconv.ParseBool: "1", "t", "T", "TRUE", "true", "True" are true; anything else, including
 * an unparsable value, is false.
 */
export function parseHealthAnnotation(value: string | undefined): boolean {
  return value !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value);
}

/**
 * istio: pilot/pkg/serviceregistry/serviceentry/conversion.go, isHealthy, with
 * pilot/pkg/model/status/helper.go GetBoolConditionFromSpec(cfg, ConditionHealthy, false).
 * Without health checks an entry is healthy; with them, only a Healthy condition "True" is (no
 * condition, or any other status, is unhealthy: a new entry waits for its first probe).
 */
export function isHealthy(entry: ModelWorkloadEntry): boolean {
  if (!parseHealthAnnotation(entry.metadata.annotations?.[ISTIOD_ANNOTATIONS.healthChecksEnabled])) return true;
  // GetBoolCondition: "True" is true, "False" false, anything else the default (false).
  return entry.status?.conditions?.find((c) => c.type === CONDITION_HEALTHY)?.status === 'True';
}

/**
 * istio: pilot/pkg/serviceregistry/serviceentry/conversion.go, ConvertWorkloadEntry: the spec's
 * labels merged with metadata.labels, metadata winning.
 */
export function entryLabels(entry: ModelWorkloadEntry): Record<string, string> {
  return { ...entry.spec.labels, ...entry.metadata.labels };
}

/** istio: pkg/model/proxy.go, GetLocalityLabel then SanitizeLocalityLabel. */
function localityFromLabels(labels: Record<string, string>): string {
  const label = labels['topology.istio.io/locality'] ?? labels['istio-locality'] ?? '';
  return label.includes('/') ? label : label.replaceAll('.', '/');
}

/** istio: pilot/pkg/serviceregistry/util/label/label.go, AugmentLabels (no k8s node for an entry). */
function augmentLabels(labels: Record<string, string>, clusterId: string, locality: string, network: string): Record<string, string> {
  const out = { ...labels };
  // SplitLocalityLabel: split on '/', at most region, zone, subzone.
  const [region = '', zone = '', subzone = ''] = locality.split('/');
  if (region) out['topology.kubernetes.io/region'] = region;
  if (zone) out['topology.kubernetes.io/zone'] = zone;
  if (subzone) out['topology.istio.io/subzone'] = subzone;
  if (clusterId) out['topology.istio.io/cluster'] = clusterId;
  if (network && !out['topology.istio.io/network']) out['topology.istio.io/network'] = network;
  return out;
}

/**
 * istio: pilot/pkg/serviceregistry/serviceentry/conversion.go, convertWorkloadEntryToWorkloadInstance
 * (with getTLSModeFromWorkloadEntry, workloadEntryNetwork, and pkg/kube/labels/labels.go
 * WorkloadNameFromWorkloadEntry). The SPIFFE namespace is the entry's own.
 */
export function convertWorkloadEntryToWorkloadInstance(entry: ModelWorkloadEntry, options: ConversionOptions): ModelWorkloadInstance {
  const { spec, metadata } = entry;
  const labels = entryLabels(entry);
  const address = spec.address ?? '';
  // k8s can use neither a unix socket nor a hostname as a Service's endpoint.
  const dnsServiceEntryOnly = address.startsWith(UNIX_ADDRESS_PREFIX) || (address !== '' && isIP(address) === 0);
  const tlsMode = labels[TLS_MODE_LABEL] ?? (spec.serviceAccount ? 'istio' : 'disabled');
  const serviceAccount = spec.serviceAccount ? `spiffe://${options.trustDomain ?? 'cluster.local'}/ns/${metadata.namespace}/sa/${spec.serviceAccount}` : '';
  const networkId = spec.network || (options.networkOf?.(address, labels) ?? '');
  const locality = spec.locality || localityFromLabels(labels);
  const annotations = metadata.annotations ?? {};
  return {
    name: metadata.name,
    namespace: metadata.namespace,
    address,
    network: spec.network ?? '',
    locality,
    weight: spec.weight ?? 0,
    labels: augmentLabels(labels, options.clusterId, locality, networkId),
    tlsMode,
    serviceAccount,
    workloadName: annotations[ISTIOD_ANNOTATIONS.autoRegistrationGroup] ?? labels['service.istio.io/workload-name'] ?? metadata.name,
    portMap: { ...spec.ports },
    dnsServiceEntryOnly,
  };
}

/**
 * istio: pilot/pkg/serviceregistry/serviceentry/controller.go, Controller.buildCollections
 * (wleWorkloads) and Controller.pushWorkloadUpdates: the instances the Kubernetes registry is
 * told about. An entry failing isHealthy is not an instance at all (not an unhealthy endpoint).
 */
export function workloadInstancesForKubernetes(entries: readonly ModelWorkloadEntry[], options: ConversionOptions): ModelWorkloadInstance[] {
  const healthChecks = options.workloadEntryHealthChecks ?? ISTIOD_FEATURE_DEFAULTS.workloadEntryHealthChecks;
  return entries
    .filter((entry) => !(healthChecks && !isHealthy(entry)))
    .map((entry) => convertWorkloadEntryToWorkloadInstance(entry, options))
    .filter((instance) => !instance.dnsServiceEntryOnly)
    // kube Controller.workloadInstanceHandler: no namespace or no label, nothing can select it.
    .filter((instance) => instance.namespace !== '' && Object.keys(instance.labels).length > 0);
}

/** The mapped target port of a Service port (kube/controller/util.go, serviceTargetPort). */
interface ServiceTargetPort {
  num: number;
  name: string;
  explicitName: boolean;
}

/**
 * The API server's defaulting of a Service port's targetPort to its port, as upstream's tests
 * simulate it (pilot/pkg/serviceregistry/serviceregistry_test.go, makeService).
 */
export function withDefaultedTargetPorts(service: ModelService): ModelService {
  return { ...service, spec: { ...service.spec, ports: service.spec.ports.map((p) => ({ ...p, targetPort: p.targetPort || p.port })) } };
}

/** istio: pilot/pkg/serviceregistry/kube/controller/util.go, findServiceTargetPort. */
function findServiceTargetPort(servicePort: { name: string; port: number }, service: ModelService): ServiceTargetPort {
  for (const p of service.spec.ports) {
    if ((p.name ?? '') === servicePort.name || p.port === servicePort.port) {
      if (typeof p.targetPort === 'number' && p.targetPort > 0) return { num: p.targetPort, name: p.name ?? '', explicitName: false };
      return { num: 0, name: typeof p.targetPort === 'string' ? p.targetPort : '', explicitName: true };
    }
  }
  return { num: 0, name: '', explicitName: false };
}

/**
 * istio: pilot/pkg/serviceregistry/kube/controller/controller.go, serviceInstanceFromWorkloadInstance.
 * The numbered target port unless the entry's ports name the target (the Service port's name when
 * its targetPort is a number); a targetPort name the entry lacks drops the endpoint.
 */
function endpointPortFor(targetPort: ServiceTargetPort, instance: ModelWorkloadInstance): number | undefined {
  if (targetPort.name === '') return targetPort.num;
  const matched = instance.portMap[targetPort.name] ?? 0;
  if (matched !== 0) return matched;
  return targetPort.explicitName ? undefined : targetPort.num;
}

/** istio: pilot/pkg/serviceregistry/kube/conversion.go, ConvertService: ClusterIP None and ExternalName are not ClientSideLB. */
function isClientSideLb(service: ModelService): boolean {
  return service.spec.clusterIP !== 'None' && !(service.spec.type === 'ExternalName' && service.spec.externalName);
}

/** istio: pkg/config/labels/instance.go, Instance.Match (an empty selector selects nothing). */
function selectorMatches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

/**
 * The endpoints istiod serves for `service` from WorkloadEntries. istio:
 * pilot/pkg/serviceregistry/kube/controller/controller.go, collectWorkloadInstanceEndpoints and
 * serviceInstancesFromWorkloadInstances, over the instances of {@link workloadInstancesForKubernetes}.
 * `service` is taken as stored, so pass it through {@link withDefaultedTargetPorts} if it did not
 * come from an API server. Ordered by service port, then entry namespace/name (upstream's index
 * order is a map's; callers compare as sets).
 */
export function endpointsForService(service: ModelService, entries: readonly ModelWorkloadEntry[], options: ConversionOptions): ModelEndpoint[] {
  const selector = service.spec.selector;
  if (!selector || !isClientSideLb(service) || service.spec.ports.length === 0) return [];
  const instances = workloadInstancesForKubernetes(entries, options).sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const out: ModelEndpoint[] = [];
  for (const { port: number } of service.spec.ports) {
    // serviceInstancesFromWorkloadInstances looks the port up by number: the first with it (a
    // TCP and a UDP port of one number both answer as the first). model.Port: name and number.
    const first = service.spec.ports.find((p) => p.port === number) ?? { port: number };
    const servicePort = { name: first.name ?? '', port: first.port };
    const target = findServiceTargetPort(servicePort, service);
    if (target.num === 0) target.num = servicePort.port;
    for (const instance of instances) {
      if (instance.namespace !== service.metadata.namespace || !selectorMatches(selector, instance.labels)) continue;
      const endpointPort = endpointPortFor(target, instance);
      if (endpointPort === undefined) continue;
      out.push({
        workloadEntry: `${instance.namespace}/${instance.name}`,
        address: instance.address,
        endpointPort,
        servicePortName: servicePort.name,
        servicePort: servicePort.port,
        weight: instance.weight,
        locality: instance.locality,
        network: instance.network,
        labels: instance.labels,
        tlsMode: instance.tlsMode,
        serviceAccount: instance.serviceAccount,
      });
    }
  }
  return out;
}
