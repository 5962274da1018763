/**
 * The agent's `OnboardingConfiguration` document (Tetrate's field names and defaults), given inline
 * as JSON or YAML or as `@/path/to/file`. A TSB configuration works unchanged: what TSB documents
 * but this agent does not use (`settings`, TLS options other than `sni`, workload fields other than
 * `labels`) is dropped with a warning. Any other unknown field is refused, so a typo never goes
 * unnoticed.
 */
import * as z from 'zod/mini';
import { parse as parseYaml } from 'yaml';
import '../../shared/core/zod-messages.js';
import { namespaceName, objectName } from '../../shared/core/schemas.js';
import { AgentConfigError, describeIssues } from './errors.js';

const HOST = /^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$|^\[[0-9A-Fa-f:.]+\]$/;
// Kubernetes label syntax, checked here so a bad label fails at start (exit 2), not as a refusal.
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const labelKey = z.string().check(z.maxLength(317), z.regex(LABEL_KEY, 'must be a Kubernetes label key'));
const labelValue = z.string().check(z.regex(LABEL_VALUE, 'must be a Kubernetes label value'));
const host = z.string().check(z.maxLength(253), z.regex(HOST, 'must be a host name or an IP address (no scheme, port or path)'));

const OnboardingConfigurationSchema = z.strictObject({
  apiVersion: z.optional(z.literal('config.agent.onboarding.tetrate.io/v1alpha1')),
  kind: z.optional(z.literal('OnboardingConfiguration')),
  onboardingEndpoint: z.strictObject({
    host,
    port: z.optional(z.int().check(z.gte(1), z.lte(65_535))),
    path: z.optional(z.string().check(z.regex(/^\/[^?#\s]*$/, 'must be an absolute path without query or fragment'))),
    /** Our extension: `http` for a local control plane on a loopback address; https otherwise. */
    scheme: z.optional(z.enum(['https', 'http'])),
    transportSecurity: z.optional(z.strictObject({ tls: z.optional(z.strictObject({ sni: z.optional(host) })) })),
  }),
  workloadGroup: z.optional(z.strictObject({ namespace: namespaceName, name: objectName })),
  workload: z.optional(z.strictObject({ labels: z.optional(z.record(labelKey, labelValue)) })),
});

export type OnboardingConfiguration = z.infer<typeof OnboardingConfigurationSchema>;

/** TSB's Workload Onboarding Endpoint port, the default when the configuration names none. */
export const TSB_ONBOARDING_PORT = 15_443;

/**
 * Subtrees where TSB documents more than this agent uses: their other fields are ignored with a
 * warning (`[]` = the whole subtree), never refused.
 */
const IGNORED_WITH_WARNING: readonly { path: readonly string[]; keep: readonly string[] }[] = [
  { path: ['settings'], keep: [] },
  { path: ['workload'], keep: ['labels'] },
  { path: ['onboardingEndpoint', 'transportSecurity'], keep: ['tls'] },
  { path: ['onboardingEndpoint', 'transportSecurity', 'tls'], keep: ['sni'] },
];

/** Where the exchange is, and what the agent asks for. */
export interface OnboardingTarget {
  /** The full exchange URL, e.g. `https://onboarding.example.com:443/v1/auth/exchange`. */
  exchangeUrl: string;
  servername?: string;
  /** `<namespace>/<name>`, when the config names a group. */
  workloadGroup?: string;
  labels?: Record<string, string>;
  /** TSB fields present in the configuration that this agent ignores, one sentence each. */
  ignoredFields: string[];
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** Reads `ONBOARDING_CONFIG` (inline JSON/YAML or `@file`); throws AgentConfigError naming the field. */
export function parseOnboardingConfig(raw: string, readText: (path: string) => string): OnboardingTarget {
  const text = raw.startsWith('@') ? readConfigFile(raw.slice(1), readText) : raw;
  let document: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser takes both forms.
    document = parseYaml(text);
  } catch (error) {
    throw new AgentConfigError(`ONBOARDING_CONFIG: not valid JSON or YAML: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  const ignoredFields = dropIgnoredFields(document);
  const result = OnboardingConfigurationSchema.safeParse(document);
  if (!result.success) {
    throw new AgentConfigError(`ONBOARDING_CONFIG: ${describeIssues(result.error.issues, '(document)')}`);
  }
  return { ...toTarget(result.data), ignoredFields };
}

/** Removes (in place) the TSB fields this agent does not use; says which. */
function dropIgnoredFields(document: unknown): string[] {
  const ignored: string[] = [];
  for (const { path, keep } of IGNORED_WITH_WARNING) {
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (isObject(node) && Object.hasOwn(node, key) ? node[key] : undefined), document);
    const last = path[path.length - 1]!;
    if (!isObject(parent) || !Object.hasOwn(parent, last)) continue;
    const node = parent[last];
    if (keep.length === 0 || !isObject(node)) {
      if (keep.length === 0) {
        ignored.push(`${path.join('.')}: a TSB setting this agent does not use; ignored`);
        delete parent[last];
      }
      continue;
    }
    for (const key of Object.keys(node)) {
      if (keep.includes(key)) continue;
      ignored.push(`${[...path, key].join('.')}: a TSB setting this agent does not use; ignored`);
      delete node[key];
    }
  }
  return ignored;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function readConfigFile(path: string, readText: (path: string) => string): string {
  try {
    return readText(path);
  } catch (error) {
    throw new AgentConfigError(`ONBOARDING_CONFIG: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

function toTarget(config: OnboardingConfiguration): Omit<OnboardingTarget, 'ignoredFields'> {
  const endpoint = config.onboardingEndpoint;
  const scheme = endpoint.scheme ?? 'https';
  // The answer is a bearer token: in clear text it may only travel on the task's own loopback.
  if (scheme === 'http' && !LOOPBACK.test(endpoint.host))
    throw new AgentConfigError(`ONBOARDING_CONFIG: onboardingEndpoint.scheme: http is allowed only for a loopback host, not ${endpoint.host}`);
  // As TSB's agent: 15443 unless the configuration says otherwise (API Gateway needs `port: 443`).
  const port = endpoint.port ?? (scheme === 'https' ? TSB_ONBOARDING_PORT : 80);
  const sni = endpoint.transportSecurity?.tls?.sni;
  return {
    exchangeUrl: `${scheme}://${endpoint.host}:${port}${endpoint.path ?? '/v1/auth/exchange'}`,
    ...(sni ? { servername: sni } : {}),
    ...(config.workloadGroup ? { workloadGroup: `${config.workloadGroup.namespace}/${config.workloadGroup.name}` } : {}),
    ...(config.workload?.labels ? { labels: config.workload.labels } : {}),
  };
}
