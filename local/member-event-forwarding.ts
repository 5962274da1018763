/**
 * Hub and spoke, locally (docs/multi-account.md#hub-and-spoke): a member account's ECS emits its Task State
 * Change events on the member's own bus (this watches the member's ECS with the member's
 * credentials), and its forwarding rule (deploy/member-account-role.yaml) sends every one to the
 * hub's bus, whose rule queues it for task-events. moto's bus-to-bus forwarding cannot stand in:
 * it stamps the event with the receiving (hub's) account, where AWS keeps the member's, and
 * task-events rightly refuses a task of one account reported by another. So what the member's
 * bus carried is put on the hub's queue as the hub's rule delivers it: the event itself.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { EcsEventSource, type TaskStateChangeEnvelope } from './ecs-event-source.js';

type ClientSettings = { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } };

/** Client settings acting in `accountId` on moto, which scopes AssumeRole credentials to the role's account (no role need exist). */
export async function settingsInAccount(base: ClientSettings, accountId: string): Promise<ClientSettings> {
  const out = await new STSClient(base).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/admin`, RoleSessionName: 'local-member' }));
  const c = out.Credentials!;
  return { endpoint: base.endpoint, region: base.region, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } };
}

export interface MemberEventForwardingOptions {
  /** Client settings acting in the member account. */
  member: ClientSettings;
  /** The hub's task-events queue (the target of its TaskStateChangeRule). */
  hub: { sqs: SQSClient; queueUrl: string };
}

export class MemberEventForwarding {
  /** The member's ECS event stream (its versions are what ECS reports for its tasks). */
  readonly events: EcsEventSource;
  private emitted: TaskStateChangeEnvelope[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: MemberEventForwardingOptions) {
    this.events = new EcsEventSource({ ecs: new ECSClient(options.member), eventBridge: new EventBridgeClient(options.member), onEvent: (e) => this.emitted.push(e) });
  }

  /**
   * The member's ECS emits what changed since the last poll, and the rule forwards it to the hub;
   * `lose` drops it on the way (a forwarding that failed), for the reconciler to repair. Returns
   * the events as the member's bus carried them.
   */
  pollOnce(options: { lose?: boolean } = {}): Promise<TaskStateChangeEnvelope[]> {
    // One at a time, as the event source's own polls: an overlapping one must not take another's events.
    const poll = this.queue.then(() => this.poll(options.lose ?? false));
    this.queue = poll.catch(() => undefined);
    return poll;
  }

  private async poll(lose: boolean): Promise<TaskStateChangeEnvelope[]> {
    this.emitted = [];
    await this.events.pollOnce();
    const emitted = this.emitted;
    if (!lose) for (const envelope of emitted) await this.options.hub.sqs.send(new SendMessageCommand({ QueueUrl: this.options.hub.queueUrl, MessageBody: JSON.stringify(envelope) }));
    return emitted;
  }
}
