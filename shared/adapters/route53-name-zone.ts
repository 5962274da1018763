/**
 * NameZone over Route53 (docs/architecture.md#mesh-names): the mesh's private hosted zone, read with
 * ListResourceRecordSets (all pages) and changed with ChangeResourceRecordSets, each request in
 * its turn under the account's request rate (RequestPace). The stack's role may change this zone's
 * records only (serverless.yml, the names function's role).
 */
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import type { RecordChange, ZoneRecord } from '../core/mesh-names.js';
import { RequestPace, ROUTE53_REQUESTS_PER_SECOND } from '../core/request-pace.js';
import type { NameZone } from '../ports.js';
import { translateAwsError } from './aws-errors.js';

export interface Route53NameZoneOptions {
  /** The hosted zone id, with or without `/hostedzone/`. */
  zoneId: string;
  /** The clock the pace is kept by, and how a wait is waited: injectable, so tests need no real time. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Shared by every zone client of the container: Route53's limit is per account. */
  pace?: RequestPace;
}

/** ListResourceRecordSets returns at most 300 records a page. */
const LIST_PAGE_SIZE = 300;

export class Route53NameZone implements NameZone {
  private readonly zoneId: string;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly pace: RequestPace;

  constructor(
    private readonly client: Route53Client,
    options: Route53NameZoneOptions,
  ) {
    this.zoneId = options.zoneId.replace(/^\/hostedzone\//, '');
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.pace = options.pace ?? new RequestPace(ROUTE53_REQUESTS_PER_SECOND);
  }

  async listRecords(): Promise<ZoneRecord[]> {
    const records: ZoneRecord[] = [];
    let start: { StartRecordName?: string; StartRecordType?: 'A' } = {};
    for (;;) {
      await this.inTurn();
      const page = await this.client
        .send(new ListResourceRecordSetsCommand({ HostedZoneId: this.zoneId, MaxItems: LIST_PAGE_SIZE, ...start }))
        .catch((e: unknown) => translateAwsError(e, 'ListResourceRecordSets'));
      for (const set of page.ResourceRecordSets ?? []) {
        if (set.Type !== 'A' || !set.Name || set.AliasTarget) continue;
        records.push({ name: recordName(set.Name), ttl: set.TTL ?? 0, addresses: (set.ResourceRecords ?? []).map((r) => r.Value ?? '') });
      }
      if (!page.IsTruncated || !page.NextRecordName) return records;
      start = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType as 'A' };
    }
  }

  async change(batch: readonly RecordChange[]): Promise<void> {
    if (batch.length === 0) return;
    await this.inTurn();
    await this.client
      .send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: this.zoneId,
          ChangeBatch: {
            Comment: 'ecs-mesh-onboarding mesh names',
            Changes: batch.map(({ action, record }) => ({
              Action: action,
              ResourceRecordSet: { Name: record.name, Type: 'A', TTL: record.ttl, ResourceRecords: record.addresses.map((Value) => ({ Value })) },
            })),
          },
        }),
      )
      .catch((e: unknown) => translateAwsError(e, 'ChangeResourceRecordSets'));
  }

  private async inTurn(): Promise<void> {
    const wait = this.pace.reserve(this.now());
    if (wait > 0) await this.sleep(wait);
  }
}

/** Route53 answers names fully qualified (a trailing dot), with some characters as `\ddd` escapes; ours are DNS-1123 labels, so lowercase without the dot. */
const recordName = (name: string): string => name.replace(/\.$/, '').toLowerCase();
