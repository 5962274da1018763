/**
 * The stores of mesh names against moto: the address book in the enrollment table (allocation
 * stable across passes and restarts, no address handed to two services whatever the order of two
 * writers, freeing only what is still the host's), and the private hosted zone in Route53 (records
 * listed over pages, batches applied, and a refresh of 1,000 names paced under Route53's five
 * requests a second, on a virtual clock).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEnrollmentTable } from '../../local/bootstrap.js';
import { DynamoDbNameAddressBook } from '../../shared/adapters/dynamodb-name-addresses.js';
import { Route53NameZone } from '../../shared/adapters/route53-name-zone.js';
import { allocateAddresses, freeAddresses, RELEASE_QUARANTINE_MS } from '../../shared/app/mesh-name-addresses.js';
import { parseLoopbackRange, type LoopbackRange } from '../../shared/core/loopback-addresses.js';
import { changeBatches, NAME_TTL_SECONDS, recordChanges } from '../../shared/core/mesh-names.js';
import { interleavingClient } from '../support/interleaving-client.js';
import { localAwsConfig } from '../support/local-aws.js';

const ZONE = 'svc.cluster.local';
const NOW = new Date('2026-12-05T10:00:00Z');
let doc: DynamoDBDocumentClient;
let route53: Route53Client;
let vpcId: string;
let tables = 0;

function range(cidr = '127.1.0.0/16'): LoopbackRange {
  const parsed = parseLoopbackRange(cidr);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.range;
}

/** A fresh enrollment table: moto's outlives a run. */
async function aTable(): Promise<string> {
  const name = `names-${process.pid}-${Date.now()}-${tables++}`;
  await createEnrollmentTable(new DynamoDBClient(localAwsConfig()), name);
  return name;
}

/** A fresh private zone associated with the test's VPC. */
async function aZone(): Promise<string> {
  const zone = await route53.send(
    new CreateHostedZoneCommand({ Name: ZONE, CallerReference: `names-${process.pid}-${Date.now()}-${Math.random()}`, VPC: { VPCId: vpcId, VPCRegion: 'us-east-1' }, HostedZoneConfig: { PrivateZone: true } }),
  );
  return zone.HostedZone!.Id!;
}

const hosts = (n: number, prefix = 's') => Array.from({ length: n }, (_, i) => `${prefix}${i}.bookinfo.${ZONE}`);

beforeAll(async () => {
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(localAwsConfig()));
  route53 = new Route53Client(localAwsConfig());
  vpcId = (await new EC2Client(localAwsConfig()).send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc!.VpcId!;
});

describe('DynamoDbNameAddressBook with allocateAddresses and freeAddresses', () => {
  it('keeps a host\'s address across passes and across a restart (a new client and adapter)', async () => {
    const table = await aTable();
    const first = await allocateAddresses(new DynamoDbNameAddressBook(doc, table), range(), hosts(50), new Set(), NOW);
    expect(first.allocated).toHaveLength(50);

    const again = await allocateAddresses(new DynamoDbNameAddressBook(doc, table), range(), hosts(60), new Set(), NOW);
    const restarted = new DynamoDbNameAddressBook(DynamoDBDocumentClient.from(new DynamoDBClient(localAwsConfig())), table);
    const afterRestart = await allocateAddresses(restarted, range(), hosts(60), new Set(), NOW);

    for (const host of hosts(50)) expect(again.addresses.get(host)).toBe(first.addresses.get(host));
    expect(again.allocated).toEqual(hosts(60).slice(50).sort());
    expect(afterRestart.allocated).toEqual([]);
    expect(afterRestart.addresses).toEqual(again.addresses);
    expect(new Set(afterRestart.addresses.values()).size).toBe(60);
  });

  it.each([0, 1])('hands no address to two services when another allocator writes before our call %i', async (at) => {
    const table = await aTable();
    // Two addresses only: both allocators' first choice may well be the same one.
    const tiny = range('127.1.0.0/30');
    const other = () => allocateAddresses(new DynamoDbNameAddressBook(doc, table), tiny, [`other.bookinfo.${ZONE}`], new Set(), NOW);
    const { client, ran } = interleavingClient(doc, at, other);

    const ours = await allocateAddresses(new DynamoDbNameAddressBook(client, table), tiny, [`ours.bookinfo.${ZONE}`], new Set(), NOW);

    expect(ran()).toBe(true);
    const stored = (await new DynamoDbNameAddressBook(doc, table).read()).addresses;
    expect(stored.size).toBe(2);
    expect(new Set(stored.values()).size).toBe(2);
    expect(ours.addresses).toEqual(stored);
  });

  it('refuses a write at a revision another writer already moved past', async () => {
    const table = await aTable();
    const book = new DynamoDbNameAddressBook(doc, table);
    expect(await book.write({ addresses: new Map([['a.bookinfo.svc.cluster.local', '127.1.0.1']]), released: new Map() }, 0)).toBe(true);
    expect(await book.write({ addresses: new Map([['b.bookinfo.svc.cluster.local', '127.1.0.1']]), released: new Map() }, 0)).toBe(false);
    expect(await book.read()).toEqual({ revision: 1, addresses: new Map([['a.bookinfo.svc.cluster.local', '127.1.0.1']]), released: new Map() });
  });

  it('says which hosts found no address once the range is full, and never reuses an address a record still points at', async () => {
    const table = await aTable();
    const tiny = range('127.1.0.0/30');
    const out = await allocateAddresses(new DynamoDbNameAddressBook(doc, table), tiny, hosts(3), new Set(['127.1.0.1']), NOW);
    expect(out.allocated).toHaveLength(1);
    expect([...out.addresses.values()]).toEqual(['127.1.0.2']);
    expect(out.exhausted).toHaveLength(2);
  });

  it('hands a freed address to no other service until the quarantine has passed: a pass that read the book before the free may still write its record', async () => {
    const table = await aTable();
    const book = new DynamoDbNameAddressBook(doc, table);
    const tiny = range('127.1.0.0/30');
    const freedAt = new Date('2026-12-05T10:00:00Z');
    const [a, b, c] = hosts(3) as [string, string, string];
    const { addresses } = await allocateAddresses(book, tiny, [a, b], new Set(), freedAt);
    await freeAddresses(book, new Map([[a, addresses.get(a)!]]), freedAt);

    const during = await allocateAddresses(book, tiny, [c], new Set(), new Date(freedAt.getTime() + RELEASE_QUARANTINE_MS - 1));
    const after = await allocateAddresses(book, tiny, [c], new Set(), new Date(freedAt.getTime() + RELEASE_QUARANTINE_MS));

    expect(during.exhausted).toEqual([c]);
    expect(after.addresses.get(c)).toBe(addresses.get(a));
    expect((await book.read()).released).toEqual(new Map());
  });

  it('frees a host only while it still has the address it is freed from', async () => {
    const table = await aTable();
    const book = new DynamoDbNameAddressBook(doc, table);
    const { addresses } = await allocateAddresses(book, range(), hosts(2), new Set(), NOW);
    const [a, b] = hosts(2) as [string, string];

    const freed = await freeAddresses(book, new Map([[a, addresses.get(a)!], [b, '127.9.9.9']]), NOW);

    expect(freed).toEqual([a]);
    expect((await book.read()).addresses).toEqual(new Map([[b, addresses.get(b)!]]));
  });
});

describe('Route53NameZone', () => {
  it('lists every A record over pages, and applies upserts and exact deletes', async () => {
    const zone = new Route53NameZone(route53, { zoneId: await aZone(), sleep: async () => undefined });
    const wanted = new Map(hosts(700).map((h, i) => [h, `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`]));
    for (const batch of changeBatches(recordChanges([], wanted, range()))) await zone.change(batch);

    const listed = await zone.listRecords();
    expect(listed).toHaveLength(700);
    expect(listed[0]).toEqual({ name: expect.stringMatching(/\.bookinfo\.svc\.cluster\.local$/), ttl: NAME_TTL_SECONDS, addresses: [expect.any(String)] });
    expect(recordChanges(listed, wanted, range())).toEqual([]);

    const fewer = new Map([...wanted].slice(0, 100));
    for (const batch of changeBatches(recordChanges(listed, fewer, range()))) await zone.change(batch);
    expect(recordChanges(await zone.listRecords(), fewer, range())).toEqual([]);
  });

  it('keeps a refresh of 1,000 names under five requests a second, bursts included (a virtual clock)', async () => {
    let nowMs = 0;
    const sent: number[] = [];
    const zone = new Route53NameZone(route53, { zoneId: await aZone(), now: () => nowMs, sleep: async (ms) => void (nowMs += ms) });
    route53.middlewareStack.add(
      (next) => async (args) => {
        sent.push(nowMs);
        return next(args);
      },
      { step: 'initialize', name: 'countCallsForPaceTest' },
    );
    const wanted = new Map(hosts(1000).map((h, i) => [h, `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`]));

    // The first refresh writes every name; a second finds nothing to change.
    const firstChanges = changeBatches(recordChanges(await zone.listRecords(), wanted, range()));
    for (const batch of firstChanges) await zone.change(batch);
    const callsOfFirst = sent.length;
    const secondChanges = changeBatches(recordChanges(await zone.listRecords(), wanted, range()));
    route53.middlewareStack.remove('countCallsForPaceTest');

    expect(firstChanges).toHaveLength(2);
    expect(secondChanges).toEqual([]);
    // One list page (empty zone) and two change calls, then four list pages of 300.
    expect(callsOfFirst).toBe(3);
    expect(sent.length - callsOfFirst).toBe(4);
    const busiestSecond = Math.max(...sent.map((t) => sent.filter((u) => u >= t && u < t + 1000).length));
    expect(busiestSecond).toBeLessThan(5);
  });
});
