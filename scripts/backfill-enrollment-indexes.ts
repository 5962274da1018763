/**
 * One-off, after upgrading a stack whose enrollment table predates its indexes
 * (docs/architecture.md#enrollment-indexes): DynamoDB indexes the existing records by `namespace`,
 * `clusterName` and `phase` by itself, but `repairKind` is new, so a record the reconciler repaired
 * before the upgrade is missing from `--repair KIND` until its next repair. This sets it from the
 * record's own `repair.kind`. Idempotent, and safe while the stack runs (each update is
 * conditional on the record still carrying that repair); the only Scan left, run once, by an
 * operator, with their own credentials.
 *
 *   npx tsx scripts/backfill-enrollment-indexes.ts --table <EnrollmentTableName output> [--region R]
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export interface BackfillCounts {
  scanned: number;
  updated: number;
}

/** Sets `repairKind` on every record with a `repair` and without one. */
export async function backfillRepairKind(doc: DynamoDBDocumentClient, table: string): Promise<BackfillCounts> {
  const counts: BackfillCounts = { scanned: 0, updated: 0 };
  const names = { '#repair': 'repair', '#kind': 'kind', '#repairKind': 'repairKind' };
  const pages = paginateScan(
    { client: doc },
    { TableName: table, FilterExpression: 'attribute_exists(#repair.#kind) AND attribute_not_exists(#repairKind)', ProjectionExpression: 'taskId, #repair.#kind', ExpressionAttributeNames: names },
  );
  for await (const page of pages) {
    counts.scanned += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      const kind = (item.repair as { kind?: unknown } | undefined)?.kind;
      if (typeof kind !== 'string') continue;
      try {
        await doc.send(
          new UpdateCommand({
            TableName: table,
            Key: { taskId: item.taskId as string },
            UpdateExpression: 'SET #repairKind = :kind',
            ConditionExpression: '#repair.#kind = :kind AND attribute_not_exists(#repairKind)',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':kind': kind },
          }),
        );
        counts.updated++;
      } catch (error) {
        // Repaired again (or removed) since the Scan read it: its own write set what is right.
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
  }
  return counts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { table: { type: 'string' }, region: { type: 'string' } } });
  if (!values.table) {
    console.error('usage: npx tsx scripts/backfill-enrollment-indexes.ts --table <EnrollmentTableName> [--region R]');
    process.exit(2);
  }
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(values.region ? { region: values.region } : {}));
  const counts = await backfillRepairKind(doc, values.table);
  console.log(`scanned ${counts.scanned} records, set repairKind on ${counts.updated}`);
}
