/** What a DynamoDB write refused on its condition says about the item that stood in its way. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/**
 * The item a ConditionalCheckFailedException carries when the write asked for
 * ReturnValuesOnConditionCheckFailure ALL_OLD, unmarshalled: the document client leaves it in
 * DynamoDB's wire form (aws/aws-sdk-js-v3#6723). Undefined when there is none.
 */
export function conditionFailureItem(error: unknown): Record<string, unknown> | undefined {
  const item = (error as { Item?: Record<string, AttributeValue> }).Item;
  return item ? unmarshall(item) : undefined;
}
