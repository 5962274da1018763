/**
 * Per-service data-plane token secrets in Secrets Manager, named `<prefix>/<namespace>/<group>`
 * (docs/architecture.md#tokens). Concurrent Lambdas that read the same version and mint at once must leave one
 * new version: each write carries a ClientRequestToken derived from the version it replaces,
 * so Secrets Manager accepts the first and answers ResourceExistsException to the others
 * (a token that is already a version, with a different value).
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { ObjectRef } from '../core/kubernetes-types.js';
import { groupKey, parseServiceTokenDocument } from '../core/service-token.js';
import type { ServiceTokenDocument } from '../core/tokens.js';
import type { ServiceTokenVault } from '../ports.js';
import { clientRequestToken } from './client-request-token.js';
import { errorName, translateAwsError } from './aws-errors.js';

/** Tags that mark a secret as one of this deployment's service tokens (listing and cleanup). */
export const SERVICE_TOKEN_TAGS = { managedBy: ['ecsmesh.io/managed-by', 'ecs-mesh-onboarding'], kind: ['ecsmesh.io/kind', 'service-token'] } as const;
const WORKLOAD_GROUP_TAG = 'ecsmesh.io/workload-group';
/** What the creating write's request token derives from (there is no version to replace yet). */

type WriteResult = 'written' | 'superseded';

export class SecretsManagerTokenVault implements ServiceTokenVault {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly prefix: string,
  ) {}

  /** `<prefix>/<namespace>/<group>`. */
  secretName(group: ObjectRef): string {
    return `${this.prefix}/${group.namespace}/${group.name}`;
  }

  async read(group: ObjectRef): Promise<{ document: ServiceTokenDocument | undefined; versionId: string } | undefined> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretName(group) }));
      return { document: parseServiceTokenDocument(out.SecretString, group), versionId: out.VersionId ?? '' };
    } catch (error) {
      // InvalidRequestException: scheduled for deletion. To us it is absent; write() restores it.
      if (isAws(error, 'ResourceNotFoundException', 'InvalidRequestException')) return undefined;
      return translateAwsError(error, 'GetSecretValue');
    }
  }

  async write(group: ObjectRef, document: ServiceTokenDocument, replacingVersionId: string | undefined): Promise<WriteResult> {
    const body = JSON.stringify(document);
    return replacingVersionId === undefined ? this.create(group, body) : this.replace(group, body, replacingVersionId, true);
  }

  async list(): Promise<ObjectRef[]> {
    const refs: ObjectRef[] = [];
    let nextToken: string | undefined;
    do {
      const out = await this.client
        .send(
          new ListSecretsCommand({
            NextToken: nextToken,
            MaxResults: 100,
            // Filters narrow the listing; the exact checks below decide (tag-value matches any tag).
            Filters: [
              { Key: 'name', Values: [`${this.prefix}/`] },
              { Key: 'tag-key', Values: [SERVICE_TOKEN_TAGS.kind[0]] },
              { Key: 'tag-value', Values: [SERVICE_TOKEN_TAGS.kind[1]] },
            ],
          }),
        )
        .catch((e: unknown) => translateAwsError(e, 'ListSecrets'));
      for (const secret of out.SecretList ?? []) {
        const tags = new Map((secret.Tags ?? []).map((t) => [t.Key, t.Value]));
        const ours = Object.values(SERVICE_TOKEN_TAGS).every(([key, value]) => tags.get(key) === value);
        const ref = ours ? this.refOf(secret.Name) : undefined;
        if (ref) refs.push(ref);
      }
      nextToken = out.NextToken;
    } while (nextToken);
    return refs;
  }

  async remove(group: ObjectRef): Promise<void> {
    try {
      // A recovery window, not a forced delete: a service that comes back within a week gets its secret restored.
      await this.client.send(new DeleteSecretCommand({ SecretId: this.secretName(group), RecoveryWindowInDays: 7 }));
    } catch (error) {
      if (isAws(error, 'ResourceNotFoundException', 'InvalidRequestException')) return; // gone or already scheduled
      translateAwsError(error, 'DeleteSecret');
    }
  }

  private async create(group: ObjectRef, body: string): Promise<WriteResult> {
    const name = this.secretName(group);
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: body,
          Description: `Data-plane token of ${groupKey(group)} (ecs-mesh-onboarding)`,
          ClientRequestToken: clientRequestToken(name, undefined),
          Tags: [...Object.values(SERVICE_TOKEN_TAGS).map(([Key, Value]) => ({ Key, Value })), { Key: WORKLOAD_GROUP_TAG, Value: groupKey(group) }],
        }),
      );
      return 'written';
    } catch (error) {
      // AWS refuses to create over a secret scheduled for deletion (InvalidRequestException);
      // moto answers ResourceExistsException, as it does to a concurrent creator that lost.
      if (isAws(error, 'InvalidRequestException')) return this.restoreAndReplace(group, body);
      if (isAws(error, 'ResourceExistsException')) return (await this.scheduledForDeletion(name)) ? this.restoreAndReplace(group, body) : 'superseded';
      return translateAwsError(error, 'CreateSecret');
    }
  }

  private async replace(group: ObjectRef, body: string, replacingVersionId: string | undefined, mayRecover: boolean): Promise<WriteResult> {
    const name = this.secretName(group);
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: body, ClientRequestToken: clientRequestToken(name, replacingVersionId) }));
      return 'written';
    } catch (error) {
      if (isAws(error, 'ResourceExistsException')) return 'superseded';
      // Deleted outright, or scheduled for deletion, since we read it. Once only: no loops.
      if (mayRecover && isAws(error, 'ResourceNotFoundException')) return this.create(group, body);
      if (mayRecover && isAws(error, 'InvalidRequestException')) return this.restoreAndReplace(group, body);
      return translateAwsError(error, 'PutSecretValue');
    }
  }

  /** Brings back a secret scheduled for deletion and writes over the version it had then. */
  private async restoreAndReplace(group: ObjectRef, body: string): Promise<WriteResult> {
    const name = this.secretName(group);
    const described = await this.client.send(new DescribeSecretCommand({ SecretId: name })).catch((e: unknown) => translateAwsError(e, 'DescribeSecret'));
    if (described.DeletedDate) await this.client.send(new RestoreSecretCommand({ SecretId: name })).catch((e: unknown) => translateAwsError(e, 'RestoreSecret'));
    const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    return this.replace(group, body, current, false);
  }

  private async scheduledForDeletion(name: string): Promise<boolean> {
    const described = await this.client.send(new DescribeSecretCommand({ SecretId: name })).catch((e: unknown) => translateAwsError(e, 'DescribeSecret'));
    return described.DeletedDate !== undefined;
  }

  private refOf(secretName: string | undefined): ObjectRef | undefined {
    const parts = secretName?.startsWith(`${this.prefix}/`) ? secretName.slice(this.prefix.length + 1).split('/') : [];
    const [namespace, name] = parts;
    return parts.length === 2 && namespace && name ? { namespace, name } : undefined;
  }
}


function isAws(error: unknown, ...names: string[]): boolean {
  return names.includes(errorName(error) ?? '');
}
