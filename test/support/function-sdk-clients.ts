/**
 * The AWS SDK clients each function calls: what its handler builds (functions/<dir>/handler.ts,
 * through createAwsClients' factories or its own client), and all its bundle may hold. The
 * packaging test holds every bundle to this table, both ways, so it cannot drift from the
 * handlers; `npm run bench bundles` builds each function's cold-import floor from it.
 */
import type { FunctionName } from '../../shared/config.js';

export type SdkClient = 'DynamoDB' | 'ECS' | 'IAM' | 'SQS' | 'STS' | 'SecretsManager' | 'Route53';

/**
 * Each client's npm package, and a string only that package puts in a bundle (however minified),
 * with a file of the package that has it. Not a service namespace for STS: every bundle holds the
 * default credential chain's own STS client (@aws-sdk/nested-clients), whose namespace is the same;
 * only the full client has DecodeAuthorizationMessage's error.
 */
export const SDK_CLIENTS: Record<SdkClient, { package: string; marker: string; source: string }> = {
  DynamoDB: { package: '@aws-sdk/client-dynamodb', marker: '"com.amazonaws.dynamodb"', source: 'node_modules/@aws-sdk/client-dynamodb/dist-es/runtimeConfig.shared.js' },
  ECS: { package: '@aws-sdk/client-ecs', marker: '"com.amazonaws.ecs"', source: 'node_modules/@aws-sdk/client-ecs/dist-es/runtimeConfig.shared.js' },
  IAM: { package: '@aws-sdk/client-iam', marker: '"com.amazonaws.iam"', source: 'node_modules/@aws-sdk/client-iam/dist-es/runtimeConfig.shared.js' },
  SQS: { package: '@aws-sdk/client-sqs', marker: '"com.amazonaws.sqs"', source: 'node_modules/@aws-sdk/client-sqs/dist-es/runtimeConfig.shared.js' },
  STS: { package: '@aws-sdk/client-sts', marker: 'InvalidAuthorizationMessageException', source: 'node_modules/@aws-sdk/client-sts/dist-es/models/errors.js' },
  SecretsManager: { package: '@aws-sdk/client-secrets-manager', marker: '"com.amazonaws.secretsmanager"', source: 'node_modules/@aws-sdk/client-secrets-manager/dist-es/runtimeConfig.shared.js' },
  Route53: { package: '@aws-sdk/client-route-53', marker: '"com.amazonaws.route53"', source: 'node_modules/@aws-sdk/client-route-53/dist-es/runtimeConfig.shared.js' },
};

/**
 * The clients each function calls. The deciding functions (task-events, reconcile, auth, explain)
 * read tasks (ECS), roles (IAM, through STS-assumed roles in member accounts), policies and
 * records (DynamoDB) and the mesh's bearer token (Secrets Manager); only task-events sends to a
 * queue (its DLQ). Token maintenance reads the enrollments and writes token secrets. The names
 * function keeps its address book (DynamoDB) and its zone's records (Route53), and reads the mesh's token.
 */
export const FUNCTION_SDK_CLIENTS: Record<FunctionName, readonly SdkClient[]> = {
  taskEvents: ['DynamoDB', 'ECS', 'IAM', 'SQS', 'STS', 'SecretsManager'],
  reconcile: ['DynamoDB', 'ECS', 'IAM', 'STS', 'SecretsManager'],
  auth: ['DynamoDB', 'ECS', 'IAM', 'STS', 'SecretsManager'],
  explain: ['DynamoDB', 'ECS', 'IAM', 'STS', 'SecretsManager'],
  tokenMaintenance: ['DynamoDB', 'SecretsManager'],
  enrollments: ['DynamoDB'],
  policies: ['DynamoDB'],
  dlq: ['SQS'],
  discovery: ['SecretsManager'],
  keys: ['SecretsManager'],
  names: ['DynamoDB', 'SecretsManager', 'Route53'],
};
