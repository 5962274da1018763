/**
 * Turns a recorded SDK call into the IAM requests AWS authorizes for it: action, resource ARN and
 * the condition keys the roles use. The mapping is explicit per service, and a call it does not
 * know fails the check, so a new kind of call cannot slip through unchecked.
 */
import type { RecordedCall } from '../support/aws-call-recorder.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const PARTITION = 'aws';

/** One request as IAM sees it. */
export interface IamRequest {
  action: string;
  resource: string;
  context: Record<string, string>;
}

type Input = Record<string, unknown>;
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !v) throw new Error(`no ${what} in the call's input`);
  return v;
};

const SERVICE_PREFIX: Record<string, string> = {
  DynamoDBClient: 'dynamodb',
  ECSClient: 'ecs',
  IAMClient: 'iam',
  STSClient: 'sts',
  SecretsManagerClient: 'secretsmanager',
  SQSClient: 'sqs',
  Route53Client: 'route53',
};

const tableArn = (name: string, index?: unknown) => `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${name}${typeof index === 'string' ? `/index/${index}` : ''}`;
/** The last path segment of a queue URL is its name. */
const queueArn = (url: string) => `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${url.split('/').pop()}`;
/** A secret's ARN ends in `-` and 6 random characters that IAM policies must allow for (`-??????`). */
const secretArn = (id: string) => (id.startsWith('arn:') ? id : `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`);
const clusterArn = (cluster: unknown) => {
  const c = typeof cluster === 'string' && cluster ? cluster : 'default';
  return c.startsWith('arn:') ? c : `arn:${PARTITION}:ecs:${REGION}:${ACCOUNT}:cluster/${c}`;
};

/** DynamoDB, for the low-level and the document client alike (both send the low-level commands). */
function dynamodb(op: string, input: Input): IamRequest[] {
  const one = (action: string, table: unknown, index?: unknown): IamRequest => ({ action: `dynamodb:${action}`, resource: tableArn(str(table, 'TableName'), index), context: {} });
  switch (op) {
    case 'GetItem':
    case 'PutItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return [one(op, input.TableName)];
    case 'Query':
    case 'Scan':
      return [one(op, input.TableName, input.IndexName)];
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys(input.RequestItems as Input).map((table) => one(op, table));
    case 'TransactGetItems':
      // IAM authorizes each item of a transaction with the item's own action.
      return (input.TransactItems as { Get: Input }[]).map((item) => one('GetItem', item.Get.TableName));
    case 'TransactWriteItems': {
      const ACTIONS = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' } as const;
      return (input.TransactItems as Record<string, Input>[]).map((item) => {
        const [kind, body] = Object.entries(item)[0] as [keyof typeof ACTIONS, Input];
        return one(ACTIONS[kind], body.TableName);
      });
    }
    default:
      throw new Error(`no IAM mapping for DynamoDB ${op}`);
  }
}

function ecs(op: string, input: Input): IamRequest[] {
  switch (op) {
    case 'DescribeTasks': {
      // The resource is each task's ARN (arn:<partition>:ecs:<region>:<account>:task/<cluster>/<id>);
      // `ecs:cluster` is its cluster's ARN.
      const clusterName = clusterArn(input.cluster).split('/').pop();
      return (input.tasks as string[]).map((task) => {
        // An id, or the old short ARN (task/<id>): IAM authorizes the long form, in the call's cluster.
        const long = task.startsWith('arn:') && task.split('/').length === 2 ? task.replace(/:task\/([^/]+)$/, `:task/${clusterName}/$1`) : task;
        const taskArn = long.startsWith('arn:') ? long : `arn:${PARTITION}:ecs:${REGION}:${ACCOUNT}:task/${clusterName}/${long}`;
        const [, partition, , region, account] = taskArn.split(':');
        return { action: 'ecs:DescribeTasks', resource: taskArn, context: { 'ecs:cluster': `arn:${partition}:ecs:${region}:${account}:cluster/${taskArn.split('/')[1]}` } };
      });
    }
    case 'DescribeTaskDefinition':
      return [{ action: 'ecs:DescribeTaskDefinition', resource: '*', context: {} }];
    // No resource-level permissions; ListTasks is conditioned on its cluster.
    case 'ListClusters':
      return [{ action: 'ecs:ListClusters', resource: '*', context: {} }];
    case 'ListTasks':
      return [{ action: 'ecs:ListTasks', resource: '*', context: { 'ecs:cluster': clusterArn(input.cluster) } }];
    default:
      throw new Error(`no IAM mapping for ECS ${op}`);
  }
}

function iam(op: string, input: Input): IamRequest[] {
  if (op !== 'GetRole') throw new Error(`no IAM mapping for IAM ${op}`);
  return [{ action: 'iam:GetRole', resource: `arn:${PARTITION}:iam::${ACCOUNT}:role/${str(input.RoleName, 'RoleName')}`, context: {} }];
}

function sts(op: string, input: Input): IamRequest[] {
  if (op === 'AssumeRole') return [{ action: 'sts:AssumeRole', resource: str(input.RoleArn, 'RoleArn'), context: {} }];
  // GetCallerIdentity needs no permission; the evaluator knows it takes only "*".
  if (op === 'GetCallerIdentity') return [{ action: 'sts:GetCallerIdentity', resource: '*', context: {} }];
  throw new Error(`no IAM mapping for STS ${op}`);
}

function secretsmanager(op: string, input: Input): IamRequest[] {
  switch (op) {
    case 'ListSecrets':
      return [{ action: 'secretsmanager:ListSecrets', resource: '*', context: {} }];
    case 'CreateSecret': {
      const resource = secretArn(str(input.Name, 'Name'));
      // Creating a secret with tags is also authorized as secretsmanager:TagResource.
      const tagged = Array.isArray(input.Tags) && input.Tags.length > 0;
      return [{ action: 'secretsmanager:CreateSecret', resource, context: {} }, ...(tagged ? [{ action: 'secretsmanager:TagResource', resource, context: {} }] : [])];
    }
    case 'GetSecretValue':
    case 'PutSecretValue':
    case 'DescribeSecret':
    case 'RestoreSecret':
    case 'DeleteSecret':
    case 'TagResource':
      return [{ action: `secretsmanager:${op}`, resource: secretArn(str(input.SecretId, 'SecretId')), context: {} }];
    default:
      throw new Error(`no IAM mapping for Secrets Manager ${op}`);
  }
}

function sqs(op: string, input: Input): IamRequest[] {
  // The batch APIs are authorized as their single-message actions.
  const action = { SendMessageBatch: 'SendMessage', DeleteMessageBatch: 'DeleteMessage', ChangeMessageVisibilityBatch: 'ChangeMessageVisibility' }[op] ?? op;
  if (!['SendMessage', 'ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes'].includes(action)) throw new Error(`no IAM mapping for SQS ${op}`);
  return [{ action: `sqs:${action}`, resource: queueArn(str(input.QueueUrl, 'QueueUrl')), context: {} }];
}

/** Record actions take the hosted zone as their resource (`Z…`, with or without `/hostedzone/`). */
function route53(op: string, input: Input): IamRequest[] {
  if (op !== 'ListResourceRecordSets' && op !== 'ChangeResourceRecordSets') throw new Error(`no IAM mapping for Route53 ${op}`);
  return [{ action: `route53:${op}`, resource: `arn:${PARTITION}:route53:::hostedzone/${str(input.HostedZoneId, 'HostedZoneId').replace(/^\/hostedzone\//, '')}`, context: {} }];
}

const BY_SERVICE: Record<string, (op: string, input: Input) => IamRequest[]> = { dynamodb, ecs, iam, sts, secretsmanager, sqs, route53 };

/** The IAM requests one SDK call is authorized as. */
export function iamRequestsOf(call: Pick<RecordedCall, 'client' | 'command' | 'input'>): IamRequest[] {
  const service = SERVICE_PREFIX[call.client];
  if (!service) throw new Error(`no IAM mapping for SDK client ${call.client}`);
  return BY_SERVICE[service]!(call.command.replace(/Command$/, ''), call.input as Input);
}
