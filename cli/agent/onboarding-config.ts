/**
 * The agent's `OnboardingConfiguration` document (Tetrate's field names, docs/architecture.md#exchange), given inline
 * as JSON or YAML or as `@/path/to/file`. Unknown fields are refused so a typo never goes unnoticed.
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

/** Where the exchange is, and what the agent asks for. */
export interface OnboardingTarget {
  /** The full exchange URL, e.g. `https://onboarding.example.com:443/v1/auth/exchange`. */
  exchangeUrl: string;
  servername?: string;
  /** `<namespace>/<name>`, when the config names a group. */
  workloadGroup?: string;
  labels?: Record<string, string>;
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
  const result = OnboardingConfigurationSchema.safeParse(document);
  if (!result.success) {
    throw new AgentConfigError(`ONBOARDING_CONFIG: ${describeIssues(result.error.issues, '(document)')}`);
  }
  return toTarget(result.data);
}

function readConfigFile(path: string, readText: (path: string) => string): string {
  try {
    return readText(path);
  } catch (error) {
    throw new AgentConfigError(`ONBOARDING_CONFIG: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

function toTarget(config: OnboardingConfiguration): OnboardingTarget {
  const endpoint = config.onboardingEndpoint;
  const scheme = endpoint.scheme ?? 'https';
  // The answer is a bearer token: in clear text it may only travel on the task's own loopback.
  if (scheme === 'http' && !LOOPBACK.test(endpoint.host))
    throw new AgentConfigError(`ONBOARDING_CONFIG: onboardingEndpoint.scheme: http is allowed only for a loopback host, not ${endpoint.host}`);
  const port = endpoint.port ?? (scheme === 'https' ? 443 : 80);
  const sni = endpoint.transportSecurity?.tls?.sni;
  return {
    exchangeUrl: `${scheme}://${endpoint.host}:${port}${endpoint.path ?? '/v1/auth/exchange'}`,
    ...(sni ? { servername: sni } : {}),
    ...(config.workloadGroup ? { workloadGroup: `${config.workloadGroup.namespace}/${config.workloadGroup.name}` } : {}),
    ...(config.workload?.labels ? { labels: config.workload.labels } : {}),
  };
}
