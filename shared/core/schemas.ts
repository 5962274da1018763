/**
 * Schemas of the documents this project owns (docs/architecture.md#policy). Types are derived from them so
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

/**
 * A string matched literally: '*' is refused with its own message (policies never take
 * wildcards), then the value must have the shape AWS gives it.
 */
const literal = (pattern: RegExp, shape: string) =>
  z.string().check(
    z.superRefine((value, ctx) => {
      if (value.includes('*')) ctx.addIssue({ code: 'custom', input: value, message: 'wildcards are not allowed; list each value' });
      else if (!pattern.test(value)) ctx.addIssue({ code: 'custom', input: value, message: `must be ${shape}` });
    }),
  );
const optionalList = <T extends z.ZodMiniType>(item: T) => z.optional(z.array(item));

/** Annotations are free text for people, not for evaluation: at most this many characters each. */
export const MAX_ANNOTATION_VALUE = 4096;

const labelKey = z.string().check(z.regex(LABEL_KEY, 'must be a Kubernetes label key (optional DNS prefix/, then 1-63 alphanumerics, -, _ or .)'));
const labelValue = z.string().check(z.regex(LABEL_VALUE, 'must be a Kubernetes label value (at most 63 alphanumerics, -, _ or ., starting and ending alphanumeric)'));
/** IAM tag limits: keys 1-128 and values 0-256 characters of letters, digits, spaces and _.:/=+-@; `aws:` is reserved. */
const IAM_TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const iamTagKey = z.string().check(
  z.minLength(1),
  z.maxLength(128),
  z.regex(IAM_TAG_CHARS, 'must use only letters, digits, spaces and _.:/=+-@ (IAM tag key)'),
  z.refine((k) => !k.toLowerCase().startsWith('aws:'), 'the aws: prefix is reserved by AWS'),
);
const iamTagValue = z.string().check(z.maxLength(256), z.regex(IAM_TAG_CHARS, 'must use only letters, digits, spaces and _.:/=+-@ (IAM tag value)'));

const labelSelector = z.strictObject({
  matchLabels: z.optional(z.record(labelKey, labelValue)),
  matchExpressions: optionalList(
    z
      .strictObject({
        key: labelKey,
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: optionalList(labelValue),
      })
      .check(
        z.superRefine((expr, ctx) => {
          // Kubernetes' own rule for label selector requirements.
          const hasValues = (expr.values ?? []).length > 0;
          if ((expr.operator === 'In' || expr.operator === 'NotIn') && !hasValues)
            ctx.addIssue({ code: 'custom', input: expr, path: ['values'], message: `must not be empty for operator ${expr.operator}` });
          if ((expr.operator === 'Exists' || expr.operator === 'DoesNotExist') && hasValues)
            ctx.addIssue({ code: 'custom', input: expr, path: ['values'], message: `must be empty for operator ${expr.operator}` });
        }),
      ),
  ),
});

/** AWS's own limits on the names policies and explain requests carry. */
export const ECS_CLUSTER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
export const IAM_ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
/** Region names (us-east-2, us-gov-west-1), at most 25 characters: the longest today has 14. */
export const REGION_SHAPE = /^(?=.{1,25}$)[a-z]{2}(-[a-z0-9]+)+$/;
/** Availability zone names, Local and Wavelength Zones included (us-west-2-lax-1a, us-east-1-wl1-bos-wlz-1), at most 32 characters. */
export const ZONE_SHAPE = /^(?=.{1,32}$)[a-z]{2}(-[a-z0-9]+)+$/;

const roleNames = optionalList(literal(IAM_ROLE_NAME, 'an IAM role name (1-64 characters of \\w+=,.@-), not an ARN'));

const ecsMatcher = z.strictObject({
  clusters: optionalList(literal(ECS_CLUSTER_NAME, 'an ECS cluster name (1-255 letters, digits, - or _)')),
  iamRoleNames: roleNames,
  iamRoleTags: z.optional(z.record(iamTagKey, z.array(iamTagValue))),
});

/**
 * Tetrate's schema also matches EC2 instances, by role name. The field is accepted (and checked)
 * so Tetrate documents apply unchanged, but an EC2 matcher never matches an ECS task.
 */
const ec2Matcher = z.strictObject({ iamRoleNames: roleNames });

const awsMatcher = z.strictObject({
  partitions: optionalList(z.enum(['aws', 'aws-cn', 'aws-us-gov'])),
  accounts: z.array(literal(/^\d{12}$/, 'an explicit 12-digit account id')).check(z.minLength(1, 'must list at least one explicit 12-digit account id')),
  regions: optionalList(literal(REGION_SHAPE, 'a region name such as us-east-2 (at most 25 characters)')),
  zones: optionalList(literal(ZONE_SHAPE, 'an availability zone name such as us-east-2b (at most 32 characters)')),
  ecs: z.optional(ecsMatcher),
  ec2: z.optional(ec2Matcher),
});

const workloadMatcher = z.strictObject({ aws: awsMatcher });

const allowRule = z.strictObject({
  workloads: z.array(workloadMatcher).check(z.minLength(1, 'must list at least one workload matcher')),
  onboardTo: z.array(z.strictObject({ workloadGroupSelector: labelSelector })).check(z.minLength(1, 'must list at least one workloadGroupSelector ({} for any group)')),
});

export const OnboardingPolicySchema = z.strictObject({
  apiVersion: z.enum(POLICY_API_VERSIONS),
  kind: z.literal('OnboardingPolicy'),
  metadata: z.strictObject({
    name: objectName,
    namespace: namespaceName,
    labels: z.optional(z.record(labelKey, labelValue)),
    // Kubernetes' syntax for annotation keys is the label key's; values are bounded here too.
    annotations: z.optional(z.record(labelKey, z.string().check(z.maxLength(MAX_ANNOTATION_VALUE)))),
  }),
  spec: z.strictObject({ allow: z.array(allowRule) }),
});

export type OnboardingPolicy = z.infer<typeof OnboardingPolicySchema>;
export type AwsMatcher = z.infer<typeof awsMatcher>;
export type LabelSelector = z.infer<typeof labelSelector>;
