/**
 * The names function's dependencies (docs/architecture.md#mesh-names). Apart from wiring.ts so that
 * only the names bundle carries the Route53 client.
 */
import { Route53Client } from '@aws-sdk/client-route-53';
import type { Config } from '../config.js';
import type { MeshNamesDeps } from '../app/refresh-mesh-names.js';
import { parseLoopbackRange } from '../core/loopback-addresses.js';
import type { Log, MeshNamesApi } from '../ports.js';
import { clientConfig } from './client-config.js';
import { DynamoDbNameAddressBook } from './dynamodb-name-addresses.js';
import { createMeshNamesApi } from './mesh-api-factory.js';
import { Route53NameZone } from './route53-name-zone.js';
import type { AwsClients } from './wiring.js';

/** `undefined` when mesh names are off (no MESH_DNS_ZONE_ID). */
export function buildMeshNamesDeps(config: Config<'names'>, log: Log, clients: Pick<AwsClients, 'dynamo' | 'secrets'>, mesh?: MeshNamesApi, route53?: Route53Client): MeshNamesDeps | undefined {
  if (!config.MESH_DNS_ZONE_ID) return undefined;
  const range = parseLoopbackRange(config.MESH_NAME_CIDR);
  // loadConfig refused a bad MESH_NAME_CIDR already; this only narrows the type.
  if (!range.ok) throw new Error(`MESH_NAME_CIDR: ${range.problem}`);
  return {
    mesh: mesh ?? createMeshNamesApi(config, clients),
    book: new DynamoDbNameAddressBook(clients.dynamo, config.ENROLLMENT_TABLE),
    zone: new Route53NameZone(route53 ?? new Route53Client(clientConfig(config)), { zoneId: config.MESH_DNS_ZONE_ID }),
    settings: { zone: config.MESH_DNS_ZONE_NAME, range: range.range },
    log,
  };
}
