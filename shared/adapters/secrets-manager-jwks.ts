/**
 * A profile's public keys in their own secret, `<prefix>/jwks[-kuma]`. Signers publish to it before they
 * sign with a key; discovery reads only it, so the Lambda serving the JWKS never holds a
 * private key (its IAM role cannot read the signing keys).
 */
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parsePublicKeySet, publicKeysAt, statusesAt, supersedes, type PublicKeySet, type PublicKeyStatus } from '../core/public-key-set.js';
import type { PublicJwk } from '../core/tokens.js';
import type { PublishedKeys } from '../ports.js';
import { errorName, translateAwsError } from './aws-errors.js';
import { clientRequestToken } from './client-request-token.js';
import { ExpiringCache } from './expiring-cache.js';

export const JWKS_TAGS = { 'ecsmesh.io/managed-by': 'ecs-mesh-onboarding', 'ecsmesh.io/kind': 'jwks' } as const;


export class SecretsManagerJwks implements PublishedKeys {
  private readonly cache: ExpiringCache<PublicKeySet | undefined>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretName: string,
    cacheSeconds: number,
    clock: () => number = Date.now,
  ) {
    this.cache = new ExpiringCache(cacheSeconds * 1000, clock);
  }

  /** The JWKS at `now` (pending keys included); empty until a signer or a rotation has published. */
  async publicKeys(now: Date): Promise<PublicJwk[]> {
    const set = await this.published();
    return set ? publicKeysAt(set, now) : [];
  }

  /** Every published key with its state at `now` (for `GET /v1/keys`); empty before the first key. */
  async statuses(now: Date): Promise<PublicKeyStatus[]> {
    const set = await this.published();
    return set ? statusesAt(set, now) : [];
  }

  private async published(): Promise<PublicKeySet | undefined> {
    const set = await this.cache.getOrLoad('jwks', async () => (await this.read())?.set);
    if (!set) this.cache.delete('jwks');
    return set;
  }

  /** Publishes `next` unless what is published is as new; concurrent publishers make one version. */
  async publish(next: PublicKeySet): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.read();
      if (!supersedes(next, current?.set)) return;
      if (await this.write(next, current?.versionId)) return;
      // Another publisher replaced the same version first: look again at what is there now.
    }
    throw new Error(`could not publish to ${this.secretName}: it kept changing`);
  }

  private async read(): Promise<{ set: PublicKeySet | undefined; versionId: string } | undefined> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretName })).catch((error: unknown) => {
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      return translateAwsError(error, 'GetSecretValue on the JWKS');
    });
    return out ? { set: parsePublicKeySet(out.SecretString ?? ''), versionId: out.VersionId ?? '' } : undefined;
  }

  /** `false` when another writer got there first. */
  private async write(set: PublicKeySet, replacingVersionId: string | undefined): Promise<boolean> {
    const body = JSON.stringify(set);
    const token = clientRequestToken(this.secretName, replacingVersionId);
    try {
      if (replacingVersionId === undefined) {
        const tags = Object.entries(JWKS_TAGS).map(([Key, Value]) => ({ Key, Value }));
        await this.client.send(new CreateSecretCommand({ Name: this.secretName, Description: 'ECS mesh onboarding: public signing keys (JWKS)', SecretString: body, ClientRequestToken: token, Tags: tags }));
      } else {
        await this.client.send(new PutSecretValueCommand({ SecretId: this.secretName, SecretString: body, ClientRequestToken: token }));
      }
      return true;
    } catch (error) {
      if (errorName(error) === 'ResourceExistsException') return false;
      return translateAwsError(error, 'writing the JWKS');
    }
  }
}
