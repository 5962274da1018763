/**
 * istiod's validation of a WorkloadEntry (its validating webhook and config store), ported from
 * istio/istio at ISTIO_COMMIT (./upstream.ts): pkg/config/validation/validation.go,
 * ValidateWorkloadEntry and validateWorkloadEntry(we, nil, allowFQDNAddresses=true), with
 * ValidateUnixAddress, ValidatePortName, pkg/config/validation/agent/validation.go ValidatePort
 * and ValidateFQDN, and pkg/config/labels/instance.go Instance.Validate. (The issue names
 * pilot/pkg/config/validation; at this commit the code lives in pkg/config/validation.)
 * validateSidecar ports ValidateSidecar of the same file, for the names function's Sidecars.
 * Errors refuse the object; warnings are answered but let it through.
 */
import { isIP } from 'node:net';
import type { ModelWorkloadEntry } from './endpoints.js';

export interface ValidationResult {
  errors: string[];
  warnings: string[];
}

// pkg/config/labels/instance.go: the regular expressions, as Go's RE2 reads them.
const DNS1123_LABEL = '[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?';
const QUALIFIED_NAME = '(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const DNS_NAME_PREFIX = `${DNS1123_LABEL}(?:\\.${DNS1123_LABEL})*/`;
const TAG_KEY = new RegExp(`^(${DNS_NAME_PREFIX})?(${QUALIFIED_NAME})$`);
const LABEL_VALUE = new RegExp(`^(${QUALIFIED_NAME})?$`);
const DNS1123_LABEL_ONLY = new RegExp(`^${DNS1123_LABEL}$`);
const DNS1123_LABEL_MAX_LENGTH = 63;
const DNS_NAME_PREFIX_MAX_LENGTH = 253;
const UNIX_ADDRESS_PREFIX = 'unix://';

/** istio: pkg/config/labels/instance.go, IsDNS1123Label. */
function isDns1123Label(value: string): boolean {
  return value.length <= DNS1123_LABEL_MAX_LENGTH && DNS1123_LABEL_ONLY.test(value);
}

/** istio: pkg/config/validation/validation.go, ValidateUnixAddress (path.IsAbs: a leading '/'). */
function validateUnixAddress(address: string): string | undefined {
  if (address.length === 0) return 'unix address must not be empty';
  if (address.startsWith('@')) return undefined;
  if (!address.startsWith('/') || address.endsWith('/')) return `${address} is not an absolute path to a file`;
  return undefined;
}

/** istio: pkg/config/validation/agent/validation.go, ValidateFQDN (CheckDNS1123Preconditions, ValidateDNS1123Labels). */
function validateFqdn(fqdn: string): string | undefined {
  if (fqdn.length > 255) return `domain name "${fqdn}" too long (max 255)`;
  if (fqdn.length === 0) return 'empty domain name not allowed';
  const parts = fqdn.split('.');
  const topLevelDomain = parts.at(-1) ?? '';
  // strconv.Atoi: an optional sign, then decimal digits.
  if (/^[+-]?\d+$/.test(topLevelDomain)) return `domain name "${fqdn}" invalid (top level domain "${topLevelDomain}" cannot be all-numeric)`;
  for (const [i, label] of parts.entries()) {
    if (i === parts.length - 1 && label === '') return undefined;
    if (!isDns1123Label(label)) return `domain name "${fqdn}" invalid (label "${label}" invalid)`;
  }
  return undefined;
}

/** istio: pkg/config/labels/instance.go, Instance.Validate and validateTagKey. */
function validateLabels(labels: Record<string, string> | undefined): string[] {
  const errors: string[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    const match = TAG_KEY.exec(key);
    if (!match) errors.push(`invalid tag key: "${key}"`);
    else if ((match[1] ?? '').length - 1 > DNS_NAME_PREFIX_MAX_LENGTH) errors.push(`invalid tag key: "${key}" (DNS prefix is too long)`);
    else if ((match[2] ?? '').length > DNS1123_LABEL_MAX_LENGTH) errors.push(`invalid tag key: "${key}" (name is too long)`);
    if (!LABEL_VALUE.test(value)) errors.push(`invalid tag value: "${value}"`);
  }
  return errors;
}

/**
 * istio: pkg/config/validation/validation.go, ValidateWorkloadEntry: the entry's spec only (its
 * metadata is the API server's to check), ports not checked against any ServiceEntry.
 */
export function validateWorkloadEntry(entry: Pick<ModelWorkloadEntry, 'spec'>): ValidationResult {
  const { spec } = entry;
  const errors: string[] = [];
  const warnings: string[] = [];
  const address = spec.address ?? '';
  if (address === '') {
    if (!spec.network) return { errors: ['address is required'], warnings };
    warnings.push(`address is unset with network "${spec.network}"`);
  }
  const ports = Object.entries(spec.ports ?? {});
  if (address.startsWith(UNIX_ADDRESS_PREFIX)) {
    const problem = validateUnixAddress(address.slice(UNIX_ADDRESS_PREFIX.length));
    if (problem) errors.push(problem);
    if (ports.length !== 0) errors.push(`unix endpoint ${address} must not include ports`);
  } else if (address !== '' && isIP(address) === 0) {
    // Without a ServiceEntry it may be meant for DNS resolution: an FQDN is allowed.
    if (validateFqdn(address)) errors.push(`endpoint address "${address}" is not a valid FQDN or an IP address`);
  }
  for (const [name, port] of ports) {
    if (!isDns1123Label(name)) errors.push(`invalid port name: ${name}`);
    if (!(port >= 1 && port <= 65535)) errors.push(`port number ${port} must be in the range 1..65535`);
  }
  errors.push(...validateLabels(spec.labels));
  return { errors, warnings };
}

/** The parts of a Sidecar's spec the names function writes (shared/core/mesh-names.ts, Sidecar). */
export interface ModelSidecarSpec {
  workloadSelector?: { labels?: Record<string, string> };
  ingress?: Array<{ port?: { number: number; protocol?: string; name?: string }; bind?: string; defaultEndpoint?: string; captureMode?: string }>;
  egress?: Array<{ port?: { number: number; protocol?: string; name?: string }; bind?: string; captureMode?: string; hosts?: string[] }>;
}

/** istio: pkg/config/protocol/instance.go, Parse (lowercased): the names it knows. */
const PROTOCOLS = new Set(['tcp', 'udp', 'grpc', 'grpc-web', 'http', 'http_proxy', 'http2', 'https', 'tls', 'mongo', 'redis', 'mysql']);

/** istio: pkg/config/validation/validation.go, ValidateProtocol ("" is protocol sniffing). */
function validateProtocol(protocol: string | undefined): string[] {
  return protocol && !PROTOCOLS.has(protocol.toLowerCase()) ? [`unsupported protocol: ${protocol}`] : [];
}

/** istio: validateSidecarIngressPortAndBind / validateSidecarEgressPortBindAndCaptureMode for an IP-bound port (ValidatePortName, ValidateProtocol, agent.ValidatePort, agent.ValidateIPAddress). */
function validateSidecarPortAndBind(port: { number: number; protocol?: string; name?: string }, bind: string | undefined): string[] {
  const errors: string[] = [];
  if (port.name && !isDns1123Label(port.name)) errors.push(`invalid port name: ${port.name}`);
  errors.push(...validateProtocol(port.protocol));
  if (!(port.number >= 1 && port.number <= 65535)) errors.push(`port number ${port.number} must be in the range 1..65535`);
  if (bind && isIP(bind) === 0) errors.push(`${bind} is not a valid IP`);
  return errors;
}

/**
 * istio: pkg/config/validation/agent/validation.go, ValidateNamespaceSlashWildcardHostname(host, false, false)
 * with validateSidecarOrGatewayHostnamePart and ValidateWildcardDomain (a wildcard only as the
 * whole first label).
 */
function validateSidecarHost(host: string): string[] {
  const slash = host.indexOf('/');
  if (slash < 0) return ['host must be of form namespace/dnsName'];
  const [namespace, name] = [host.slice(0, slash), host.slice(slash + 1)];
  const errors: string[] = [];
  if (namespace === '' || name === '') errors.push('config namespace and dnsName in host entry cannot be empty');
  const ns = namespace.replace(/^~/, '');
  if (ns !== '' && ns !== '*' && ns !== '.' && !isDns1123Label(ns)) errors.push(`invalid namespace value "${namespace}" in sidecar`);
  if (name !== '*' && !name.includes('.')) errors.push('short names (non FQDN) are not allowed');
  if (name !== '*') {
    // ValidateWildcardDomain: labels.IsWildcardDNS1123Label for the first label (a leading '*', then a DNS-1123 label or nothing), ValidateDNS1123Labels for the rest.
    const dot = name.indexOf('.');
    const first = (dot < 0 ? name : name.slice(0, dot)).replace(/^\*/, '');
    const problem = name.length > 255 ? `domain name "${name}" too long (max 255)` : first !== '' && !isDns1123Label(first) ? `domain name "${name}" invalid (label "${first}" invalid)` : dot < 0 ? undefined : validateFqdn(name.slice(dot + 1));
    if (problem) errors.push(problem);
  }
  if (name.includes('*') && name.length !== 1 && !name.startsWith('*.')) errors.push(`partial wildcard "${name}" not allowed`);
  return errors;
}

/**
 * istio: pkg/config/validation/validation.go, ValidateSidecar, for what we write: the workload
 * selector (ValidateAlphaWorkloadSelector), an empty Sidecar, ingress ports and defaultEndpoint,
 * egress ports, binds, the one catch-all listener, port uniqueness among IP-bound listeners
 * (ingress and egress each), and hosts. TLS, connection pools and outboundTrafficPolicy, which
 * we never set, are not ported.
 */
export function validateSidecar(sidecar: { metadata: { namespace: string }; spec: ModelSidecarSpec }): ValidationResult {
  const { spec } = sidecar;
  const errors: string[] = [];
  const warnings: string[] = [];
  const selector = spec.workloadSelector;
  if (selector) {
    for (const [k, v] of Object.entries(selector.labels ?? {})) {
      if (k === '') return { errors: [`empty key is not supported in selector: "${k}=${v}"`], warnings };
      if (k.includes('*') || v.includes('*')) return { errors: [`wildcard is not supported in selector: "${k}=${v}"`], warnings };
    }
    if (Object.keys(selector.labels ?? {}).length === 0) warnings.push('sidecar: workload selector specified without labels, will be applied to all services in namespace');
  }
  if ((spec.egress ?? []).length === 0 && (spec.ingress ?? []).length === 0) return { errors: ['sidecar: empty configuration provided'], warnings };

  let ports = new Set<number>();
  for (const ingress of spec.ingress ?? []) {
    if (!ingress.port) {
      errors.push('sidecar: port is required for ingress listeners');
      continue;
    }
    errors.push(...validateSidecarPortAndBind(ingress.port, ingress.bind));
    if (ports.has(ingress.port.number)) errors.push('sidecar: ports on IP bound listeners must be unique');
    ports.add(ingress.port.number);
    const endpoint = ingress.defaultEndpoint ?? '';
    if (endpoint.startsWith(UNIX_ADDRESS_PREFIX)) {
      const problem = validateUnixAddress(endpoint.slice(UNIX_ADDRESS_PREFIX.length));
      if (problem) errors.push(problem);
    } else if (endpoint !== '') {
      const match = /^(?:\[([^\]]*)\]|([^:]*)):([^:]*)$/.exec(endpoint);
      const host = match?.[1] ?? match?.[2] ?? '';
      if (!match) errors.push(`address ${endpoint}: missing port in address`);
      if (!['', '127.0.0.1', '0.0.0.0', '::1', '::'].includes(host)) errors.push('sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset');
      const port = /^[+-]?\d+$/.test(match?.[3] ?? '') ? Number(match?.[3]) : undefined;
      if (port === undefined) errors.push(`sidecar: defaultEndpoint port (${match?.[3] ?? ''}) is not a number`);
      else if (!(port >= 1 && port <= 65535)) errors.push(`port number ${port} must be in the range 1..65535`);
    }
  }

  ports = new Set<number>();
  const unixBinds = new Set<string>();
  const egresses = spec.egress ?? [];
  let catchAll = false;
  for (const [index, egress] of egresses.entries()) {
    if (!egress.port) {
      if (catchAll) {
        errors.push('sidecar: egress can have only one listener with empty port');
        continue;
      }
      if (index === egresses.length - 1) catchAll = true;
      else errors.push('sidecar: the egress listener with empty port should be the last listener in the list');
    } else if (egress.port.number === 0) {
      const bind = egress.bind ?? '';
      if (egress.port.name && !isDns1123Label(egress.port.name)) errors.push(`invalid port name: ${egress.port.name}`);
      errors.push(...validateProtocol(egress.port.protocol));
      if (!bind.startsWith(UNIX_ADDRESS_PREFIX)) errors.push('sidecar: ports with 0 value must have a unix domain socket bind address');
      if (unixBinds.has(bind)) errors.push('sidecar: unix domain socket values for listeners must be unique');
      unixBinds.add(bind);
    } else {
      errors.push(...validateSidecarPortAndBind(egress.port, egress.bind));
      if (ports.has(egress.port.number)) errors.push('sidecar: ports on IP bound listeners must be unique');
      ports.add(egress.port.number);
    }
    const hosts = egress.hosts ?? [];
    if (hosts.length === 0) errors.push('sidecar: egress listener must contain at least one host');
    // Per namespace, the services named; a name twice, or beside its namespace's '*', is a warning.
    // Exclusions (`~ns/...`) are not counted.
    const named = new Map<string, Set<string>>();
    for (const host of hosts) {
      const slash = host.indexOf('/');
      if (slash >= 0 && !host.startsWith('~')) {
        const namespace = host.slice(0, slash) === '.' ? sidecar.metadata.namespace : host.slice(0, slash);
        const service = host.slice(slash + 1);
        const names = named.get(namespace) ?? new Set<string>();
        named.set(namespace, names);
        if (service !== '*' ? names.has(service) || names.has('*') : names.size !== 0) warnings.push(`duplicated egress host: ${host}`);
        names.add(service);
      }
      errors.push(...validateSidecarHost(host));
    }
    if (named.get('*')?.has('*') && named.size !== 1) warnings.push('`*/*` host select all resources, no other hosts can be added');
  }
  return { errors, warnings };
}
