/** AddressClaims with DynamoDbAddressClaims's semantics (claimHolds over the holders' records), for app-level tests. */
import type { Phase } from '../../shared/core/enrollment.js';
import { claimHolds, type AddressHolder, type NetworkAddress } from '../../shared/core/networks.js';
import type { AddressClaims } from '../../shared/ports.js';

export class InMemoryAddressClaims implements AddressClaims {
  readonly claims = new Map<string, AddressHolder>();

  /** `phaseOf`: the holder's enrollment record's phase, as the DynamoDB adapter reads it from the same table. */
  constructor(private readonly phaseOf: (taskId: string) => Phase | undefined) {}

  async heldByAnother(at: NetworkAddress, taskId: string, now: Date): Promise<AddressHolder | undefined> {
    const holder = this.claims.get(key(at));
    return holder && holder.taskId !== taskId && claimHolds(holder, this.phaseOf(holder.taskId), now) ? holder : undefined;
  }

  async claim(at: NetworkAddress, task: Pick<AddressHolder, 'taskId' | 'taskArn'>, now: Date): Promise<AddressHolder | undefined> {
    const holder = await this.heldByAnother(at, task.taskId, now);
    if (holder) return holder;
    this.claims.set(key(at), { ...task, claimedAt: now.toISOString() });
    return undefined;
  }

  async release(at: NetworkAddress, taskId: string): Promise<void> {
    if (this.claims.get(key(at))?.taskId === taskId) this.claims.delete(key(at));
  }
}

const key = ({ network, address }: NetworkAddress) => `${network}#${address}`;
