/**
 * Schemas of the documents this project owns (DESIGN §3). Types are derived from them so
 * each shape has one source.
 */
import { z } from 'zod';

export const POLICY_API_VERSIONS = ['ecsmesh.io/v1alpha1', 'authorization.onboarding.tetrate.io/v1alpha1'] as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const namespaceName = z.string().max(63).regex(DNS1123_LABEL, 'must be a DNS-1123 label');
export const objectName = z.string().max(253).regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain');

const nonWildcard = z.string().min(1).refine((v) => !v.includes('*'), 'wildcards are not allowed');
const optionalList = <T extends z.ZodType>(item: T) => z.array(item).optional();

const labelSelector = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z.strictObject({
          key: z.string().min(1),
          operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
          values: z.array(z.string()).optional(),
        }),
      )
      .optional(),
  })
  .strict();

const ecsMatcher = z.strictObject({
  clusters: optionalList(nonWildcard),
  iamRoleNames: optionalList(nonWildcard),
  iamRoleTags: z.record(z.string().min(1), z.array(z.string())).optional(),
});

/** Tetrate's schema also matches EC2 instances; we accept it but it never matches an ECS task. */
const ec2Matcher = z.looseObject({});

const awsMatcher = z.strictObject({
  partitions: optionalList(z.enum(['aws', 'aws-cn', 'aws-us-gov'])),
  accounts: z.array(z.string().regex(/^\d{12}$/, 'must be an explicit 12-digit account id')).min(1),
  regions: optionalList(nonWildcard),
  zones: optionalList(nonWildcard),
  ecs: ecsMatcher.optional(),
  ec2: ec2Matcher.optional(),
});

const workloadMatcher = z.strictObject({ aws: awsMatcher });

const allowRule = z.strictObject({
  workloads: z.array(workloadMatcher).min(1),
  onboardTo: z.array(z.strictObject({ workloadGroupSelector: labelSelector })).min(1),
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
