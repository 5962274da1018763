/**
 * Which Istio network a task's address lives on, and who holds an address on a network
 * (docs/architecture.md#networks). Tasks of different accounts, or of different VPCs, may share a
 * private address (overlapping CIDRs): two entries with one address on one network misroute
 * traffic, so each address of a network is claimed by one live task at a time.
 */
import { isTombstone, type Phase } from './enrollment.js';
import { LABEL_VALUE } from './schemas.js';

/** meshNetworks (MESH_NETWORKS): the network of each VPC and of each account, from configuration. */
export interface MeshNetworks {
  byVpc: ReadonlyMap<string, string>;
  byAccount: ReadonlyMap<string, string>;
}

export const NO_MESH_NETWORKS: MeshNetworks = { byVpc: new Map(), byAccount: new Map() };

const VPC_ID = /^vpc-[0-9a-f]{8}([0-9a-f]{9})?$/;
const ACCOUNT_ID = /^\d{12}$/;

/**
 * Parses `vpc-0abc...=net-a,123456789012=net-b`: each key a VPC id or a 12-digit account, named
 * once; each network a Kubernetes label value (istiod reads it from `topology.istio.io/network`).
 * Every problem is reported, so one deploy names them all.
 */
export function parseMeshNetworks(text: string): { ok: true; networks: MeshNetworks } | { ok: false; problems: string[] } {
  const byVpc = new Map<string, string>();
  const byAccount = new Map<string, string>();
  const problems: string[] = [];
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key = '', network, ...rest] = pair.split('=').map((p) => p.trim());
    if (network === undefined || rest.length > 0) problems.push(`"${pair}" is not <vpc-id or account>=<network>`);
    else if (!VPC_ID.test(key) && !ACCOUNT_ID.test(key)) problems.push(`"${key}" is neither a VPC id (vpc-0abc...) nor a 12-digit account`);
    else if (network === '' || !LABEL_VALUE.test(network)) problems.push(`network "${network}" of ${key} is not a Kubernetes label value (at most 63 alphanumerics, -, _ or ., starting and ending alphanumeric)`);
    else if (byVpc.has(key) || byAccount.has(key)) problems.push(`${key} is named twice`);
    else (VPC_ID.test(key) ? byVpc : byAccount).set(key, network);
  }
  return problems.length ? { ok: false, problems } : { ok: true, networks: { byVpc, byAccount } };
}

/** Whether resolving a task's network needs its VPC (a DescribeSubnets): only when a VPC is mapped. */
export const needsVpc = (networks: MeshNetworks): boolean => networks.byVpc.size > 0;

export type NetworkSource = 'vpc' | 'account' | 'group' | 'none';

/**
 * The task's network: its VPC's, else its account's (meshNetworks), else the group template's own
 * `network`, else none (istiod's default network). Where the address lives decides which addresses
 * it can clash with, and only the control plane knows that: one group spans accounts and VPCs, so
 * its template can name a network only for a single-network estate, which stays its default.
 */
export function resolveNetwork(networks: MeshNetworks, place: { vpcId?: string; accountId: string }, groupNetwork: string | undefined): { network?: string; source: NetworkSource } {
  const byVpc = place.vpcId === undefined ? undefined : networks.byVpc.get(place.vpcId);
  if (byVpc !== undefined) return { network: byVpc, source: 'vpc' };
  const byAccount = networks.byAccount.get(place.accountId);
  if (byAccount !== undefined) return { network: byAccount, source: 'account' };
  if (groupNetwork !== undefined && groupNetwork !== '') return { network: groupNetwork, source: 'group' };
  return { source: 'none' };
}

/** An address of a network, as its claim is keyed: the empty network is istiod's default one. */
export interface NetworkAddress {
  network: string;
  address: string;
}

export const describeNetworkAddress = ({ network, address }: NetworkAddress): string => `address ${address} on ${network ? `network ${network}` : 'the default network'}`;

/** Who claimed an address of a network, and when (ISO 8601). */
export interface AddressHolder {
  taskId: string;
  taskArn: string;
  claimedAt: string;
}

/**
 * How long a claim whose holder has no live record yet stays the holder's: it claims, then applies
 * its entry, then writes its record, within one enrollment (seconds). Past this, a holder whose
 * record is not live (refused, or gone) no longer holds the address.
 */
export const CLAIM_SETTLE_SECONDS = 300;

/**
 * Whether a claim still holds its address. A holder whose record is a tombstone never enrolls
 * again, so its claim is stale at once; one whose record is refused or missing only once the claim
 * is older than CLAIM_SETTLE_SECONDS (it may be enrolling right now).
 */
export function claimHolds(holder: AddressHolder, holderPhase: Phase | undefined, now: Date): boolean {
  if (holderPhase !== undefined && isTombstone(holderPhase)) return false;
  if (holderPhase === 'enrolled' || holderPhase === 'pending') return true;
  return now.getTime() - Date.parse(holder.claimedAt) < CLAIM_SETTLE_SECONDS * 1000;
}
