/**
 * Schemas of the documents this project owns (DESIGN §3). Types are derived from them so
 * each shape has one source.
 */
import * as z from 'zod/mini';
import './zod-messages.js';


export const POLICY_API_VERSIONS = ['ecsmesh.io/v1alpha1', 'authorization.onboarding.tetrate.io/v1alpha1'] as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes label key (optional DNS-1123 prefix of at most 253 characters, then a name) and value. */
export const LABEL_KEY = /^(?:(?=[a-z0-9.-]{1,253}\/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export const namespaceName = z.string().check(z.maxLength(63), z.regex(DNS1123_LABEL, 'must be a DNS-1123 label'));
export const objectName = z.string().check(z.maxLength(253), z.regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain'));

const nonWildcard = z.string().check(z.minLength(1), z.refine((v) => !v.includes('*'), 'wildcards are not allowed'));
const optionalList = <T extends z.ZodMiniType>(item: T) => z.optional(z.array(item));

const labelSelector = z.strictObject({
  matchLabels: z.optional(z.record(z.string(), z.string())),
  matchExpressions: optionalList(
    z.strictObject({
      key: z.string().check(z.minLength(1)),
      operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
      values: optionalList(z.string()),
    }),
  ),
});

const ecsMatcher = z.strictObject({
  clusters: optionalList(nonWildcard),
  iamRoleNames: optionalList(nonWildcard),
  iamRoleTags: z.optional(z.record(z.string().check(z.minLength(1)), z.array(z.string()))),
});

/** Tetrate's schema also matches EC2 instances; we accept it but it never matches an ECS task. */
const ec2Matcher = z.looseObject({});

const awsMatcher = z.strictObject({
  partitions: optionalList(z.enum(['aws', 'aws-cn', 'aws-us-gov'])),
  accounts: z.array(z.string().check(z.regex(/^\d{12}$/, 'must be an explicit 12-digit account id'))).check(z.minLength(1)),
  regions: optionalList(nonWildcard),
  zones: optionalList(nonWildcard),
  ecs: z.optional(ecsMatcher),
  ec2: z.optional(ec2Matcher),
});

const workloadMatcher = z.strictObject({ aws: awsMatcher });

const allowRule = z.strictObject({
  workloads: z.array(workloadMatcher).check(z.minLength(1)),
  onboardTo: z.array(z.strictObject({ workloadGroupSelector: labelSelector })).check(z.minLength(1)),
});

export const OnboardingPolicySchema = z.strictObject({
  apiVersion: z.enum(POLICY_API_VERSIONS),
  kind: z.literal('OnboardingPolicy'),
  metadata: z.looseObject({ name: objectName, namespace: namespaceName }),
  spec: z.strictObject({ allow: z.array(allowRule) }),
});

export type OnboardingPolicy = z.infer<typeof OnboardingPolicySchema>;
export type AllowRule = OnboardingPolicy['spec']['allow'][number];
export type AwsMatcher = z.infer<typeof awsMatcher>;
export type LabelSelector = z.infer<typeof labelSelector>;
