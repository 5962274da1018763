/**
 * istiod's validation of a WorkloadEntry (its validating webhook and config store), ported from
 * istio/istio at ISTIO_COMMIT (./upstream.ts): pkg/config/validation/validation.go,
 * ValidateWorkloadEntry and validateWorkloadEntry(we, nil, allowFQDNAddresses=true), with
 * ValidateUnixAddress, ValidatePortName, pkg/config/validation/agent/validation.go ValidatePort
 * and ValidateFQDN, and pkg/config/labels/instance.go Instance.Validate. (The issue names
 * pilot/pkg/config/validation; at this commit the code lives in pkg/config/validation.)
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
