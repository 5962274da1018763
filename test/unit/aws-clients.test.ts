/**
 * createAwsClients builds the clients a handler names and no other (its bundle then holds only
 * their SDK packages; the packaging test checks the bundles), and extensions reach each client of
 * their kind. Every function used to get all six clients, the SQS client in four that never send.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { createAwsClients, dynamoClient, ecsClient, extendAwsClients, secretsClient } from '../../shared/adapters/wiring.js';
import { loadConfig } from '../../shared/config.js';

const config = loadConfig('tokenMaintenance', { AWS_REGION: 'eu-west-1', MESH_K8S_URL: 'https://mesh.example' });

describe('Function: createAwsClients', () => {
  it('builds the clients named, with the region, and no other', async () => {
    const clients = createAwsClients(config, { dynamo: dynamoClient, secrets: secretsClient });

    expect(Object.keys(clients).sort()).toEqual(['dynamo', 'secrets']);
    expect(clients.secrets).toBeInstanceOf(SecretsManagerClient);
    expect(await clients.secrets.config.region()).toBe('eu-west-1');
    // @ts-expect-error -- a function cannot use a client it did not ask for
    expect(clients.sqs).toBeUndefined();
  });

  it('runs an extension on each client of its kind, and only there', () => {
    const extended: unknown[] = [];
    extendAwsClients('ecs', (ecs) => void extended.push(ecs));

    createAwsClients(config, { dynamo: dynamoClient, secrets: secretsClient });
    const { ecs } = createAwsClients(config, { ecs: ecsClient });

    expect(extended).toEqual([ecs]);
    expect(ecs).toBeInstanceOf(ECSClient);
  });
});
