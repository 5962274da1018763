/**
 * Reads one SQS message body as an EventBridge "ECS Task State Change" event (docs/architecture.md#enrollment).
 * Shape: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
 * AWS says new fields may appear at any time, so every object is loose; only what the
 * pipeline relies on is checked.
 */
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import { REASONS } from '../../shared/core/reasons.js';
import { clusterNameFromArn, parseArn, taskIdFromArn, type LaunchType, type TaskStateChangeEvent } from '../../shared/core/task.js';

export type { TaskStateChangeEvent };

/** EventBridge refuses entries over 256 KiB, so anything larger did not come from it. */
export const MAX_EVENT_BYTES = 256 * 1024;
const MAX_DETAIL_CHARS = 300;

const LAUNCH_TYPES: ReadonlySet<string> = new Set(['FARGATE', 'EC2', 'EXTERNAL']);
/** The event doc shows `eni`; DescribeTasks (and so our local event source) says `ElasticNetworkInterface`. */
const ENI_ATTACHMENT_TYPES: ReadonlySet<string> = new Set(['eni', 'ElasticNetworkInterface']);
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;


const arnString = z.string().check(z.minLength(1), z.maxLength(2048));
const status = z.string().check(z.minLength(1), z.maxLength(64));
const maxString = (max: number) => z.string().check(z.maxLength(max));
const optionalMaxString = (max: number) => z.optional(maxString(max));

const attachmentSchema = z.looseObject({
  type: optionalMaxString(64),
  status: optionalMaxString(64),
  details: z.optional(z.array(z.looseObject({ name: maxString(128), value: optionalMaxString(2048) })).check(z.maxLength(64))),
});

const detailSchema = z.looseObject({
  taskArn: arnString.check(z.refine((arn) => taskIdFromArn(arn) !== undefined, 'not an ECS task ARN')),
  clusterArn: arnString.check(z.refine((arn) => clusterNameFromArn(arn) !== undefined, 'not an ECS cluster ARN')),
  taskDefinitionArn: arnString,
  version: z.number().check(z.int(), z.nonnegative()),
  lastStatus: status,
  desiredStatus: status,
  launchType: optionalMaxString(64),
  availabilityZone: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  overrides: z.optional(z.looseObject({ taskRoleArn: z.optional(arnString) })),
  attachments: z.optional(z.array(attachmentSchema).check(z.maxLength(64))),
  stoppedReason: optionalMaxString(2048),
});

/** The EventBridge envelope; `account` is optional because moto's SQS delivery leaves it out. */
export const taskStateChangeEnvelopeSchema = z.looseObject({
  id: z.string().check(z.minLength(1), z.maxLength(256)),
  source: z.literal('aws.ecs'),
  'detail-type': z.literal('ECS Task State Change'),
  account: z.optional(z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit account id'))),
  region: z.string().check(z.minLength(1), z.maxLength(64)),
  time: maxString(64),
  resources: z.optional(z.array(maxString(2048))),
  detail: detailSchema,
});

export type TaskStateChangeEnvelope = z.input<typeof taskStateChangeEnvelopeSchema>;

export type ParseTaskStateChangeResult =
  | { ok: true; value: TaskStateChangeEvent }
  | { ok: false; reason: typeof REASONS.MALFORMED_EVENT; detail: string };

type Envelope = z.infer<typeof taskStateChangeEnvelopeSchema>;

/** Parses an SQS body into a Task State Change; never throws, whatever the input. */
export function parseTaskStateChange(body: string): ParseTaskStateChangeResult {
  try {
    if (typeof body !== 'string') return malformed('body is not a string');
    if (Buffer.byteLength(body, 'utf8') > MAX_EVENT_BYTES) return malformed(`body exceeds ${MAX_EVENT_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return malformed('body is not JSON');
    }
    const parsed = taskStateChangeEnvelopeSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return malformed(issue ? `${describePath(issue.path)}: ${issue.message}` : 'invalid event');
    }
    return toEvent(parsed.data);
  } catch (error) {
    // Safety net: a parser bug must surface as a refusal of this record, not a failed batch.
    return malformed(`unreadable event (${error instanceof Error ? error.name : 'unknown error'})`);
  }
}

function toEvent(envelope: Envelope): ParseTaskStateChangeResult {
  const { detail } = envelope;
  const taskArn = parseArn(detail.taskArn);
  const clusterArn = parseArn(detail.clusterArn);
  const taskId = taskIdFromArn(detail.taskArn);
  const clusterName = clusterNameFromArn(detail.clusterArn);
  if (!taskArn || !clusterArn || !taskId || !clusterName) return malformed('detail: unreadable ARNs');

  // ECS never reports a task of one account or region from another: a mismatch is a forgery.
  const account = envelope.account ?? taskArn.accountId;
  if (taskArn.accountId !== account || clusterArn.accountId !== account) {
    return malformed('detail.taskArn: account differs from the event account');
  }
  if (taskArn.region !== envelope.region || clusterArn.region !== envelope.region) {
    return malformed('detail.taskArn: region differs from the event region');
  }
  const pathParts = taskArn.resource.split('/');
  if (pathParts.length === 3 && pathParts[1] !== clusterName) {
    return malformed('detail.taskArn: cluster differs from detail.clusterArn');
  }

  const ip = privateIpv4Of(detail.attachments ?? []);
  if (ip.ok === false) return malformed(ip.detail);

  return {
    ok: true,
    value: {
      eventId: envelope.id,
      account,
      region: envelope.region,
      time: envelope.time,
      taskArn: detail.taskArn,
      taskId,
      clusterArn: detail.clusterArn,
      clusterName,
      taskDefinitionArn: detail.taskDefinitionArn,
      version: detail.version,
      lastStatus: detail.lastStatus,
      desiredStatus: detail.desiredStatus,
      launchType: toLaunchType(detail.launchType),
      ...(detail.availabilityZone !== undefined && { availabilityZone: detail.availabilityZone }),
      ...(detail.overrides?.taskRoleArn !== undefined && { overrideTaskRoleArn: detail.overrides.taskRoleArn }),
      ...(ip.value !== undefined && { privateIpv4: ip.value }),
      ...(detail.stoppedReason && { stoppedReason: detail.stoppedReason }),
    },
  };
}

type Attachment = z.infer<typeof attachmentSchema>;

/** The task's own address; a non-IPv4 value would otherwise become a WorkloadEntry address. */
function privateIpv4Of(attachments: Attachment[]): { ok: true; value?: string } | { ok: false; detail: string } {
  for (const [i, attachment] of attachments.entries()) {
    if (!attachment.type || !ENI_ATTACHMENT_TYPES.has(attachment.type)) continue;
    for (const [j, item] of (attachment.details ?? []).entries()) {
      if (item.name !== 'privateIPv4Address' || item.value === undefined) continue;
      if (!IPV4.test(item.value)) return { ok: false, detail: `detail.attachments[${i}].details[${j}].value: not an IPv4 address` };
      return { ok: true, value: item.value };
    }
  }
  return { ok: true };
}

function toLaunchType(value: string | undefined): LaunchType {
  return value !== undefined && LAUNCH_TYPES.has(value) ? (value as LaunchType) : 'UNKNOWN';
}

function describePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(event)';
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('');
}

function malformed(detail: string): ParseTaskStateChangeResult {
  return { ok: false, reason: REASONS.MALFORMED_EVENT, detail: detail.slice(0, MAX_DETAIL_CHARS) };
}
