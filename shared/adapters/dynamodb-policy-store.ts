/**
 * Onboarding policies in DynamoDB (pk `namespace`, sk `name`, the document as JSON in
 * `document`). Reads are cached for a few seconds so a burst of events costs one Query per
 * namespace, while a policy change still takes effect almost at once.
 */
import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { validatePolicyDocument } from '../core/policy-validation.js';
import { describeProblems } from '../core/validation-problems.js';
import type { PolicyStore, StoredPolicy } from '../ports.js';
import { translateAwsError } from './aws-errors.js';
import { ExpiringCache } from './expiring-cache.js';

export interface StoredPolicyItem {
  namespace: string;
  name: string;
  revision: number;
  document: string;
}

export class DynamoDbPolicyStore implements PolicyStore {
  private readonly cache: ExpiringCache<StoredPolicy[]>;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    cacheTtlMs: number,
    now: () => number = Date.now,
  ) {
    this.cache = new ExpiringCache(cacheTtlMs, now);
  }

  listPolicies(namespace: string): Promise<StoredPolicy[]> {
    return this.cache.getOrLoad(namespace, async () => (await queryNamespace<StoredPolicyItem>(this.client, this.tableName, namespace, false)).map(toStoredPolicy));
  }
}

/** Every item of a namespace's partition, following Query's pages. */
export async function queryNamespace<T extends StoredPolicyItem>(client: DynamoDBDocumentClient, tableName: string, namespace: string, consistentRead: boolean): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out: QueryCommandOutput = await client
      .send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: '#ns = :ns',
          ExpressionAttributeNames: { '#ns': 'namespace' },
          ExpressionAttributeValues: { ':ns': namespace },
          ConsistentRead: consistentRead,
          ExclusiveStartKey: start,
        }),
      )
      .catch((e: unknown) => translateAwsError(e, 'dynamodb:Query'));
    items.push(...((out.Items ?? []) as T[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Validates a stored document; a corrupt one is reported, never trusted. */
export function toStoredPolicy(item: StoredPolicyItem): StoredPolicy {
  const base = { name: item.name, revision: Number(item.revision ?? 0) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(item.document);
  } catch {
    return { ...base, valid: false, problem: 'document is not JSON' };
  }
  // Stored under its own key: metadata naming another place would grant in the wrong namespace.
  const result = validatePolicyDocument(parsed, { namespace: item.namespace, name: item.name });
  if (!result.ok) return { ...base, valid: false, problem: describeProblems(result.problems) };
  return { ...base, valid: true, policy: result.policy };
}
