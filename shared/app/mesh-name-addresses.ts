/**
 * Allocating and freeing the loopback addresses of mesh names (docs/architecture.md#mesh-names) in the
 * address book: read it, decide (chooseAddress), write it back at the revision read; a writer that
 * lost reads again and decides again, so its choice never takes an address the winner just took.
 */
import { chooseAddress, type LoopbackRange } from '../core/loopback-addresses.js';
import { ControlPlaneError } from '../errors.js';
import type { NameAddressBook } from '../ports.js';

/** Writers racing for the book lose at most this often in one pass; more means a storm of passes. */
const BOOK_ATTEMPTS = 5;

/**
 * How long a freed address is handed to no other name. A pass that read the book before the free
 * (an overlapping pass: EventBridge may deliver a schedule twice) can still write the old name's
 * record up to its timeout (50 s) later; the next pass deletes that record and, while it stands,
 * keeps the address from being handed out (`reserved`). Five minutes covers both with room.
 */
export const RELEASE_QUARANTINE_MS = 5 * 60_000;

/** The released addresses still in quarantine at `now`; the others are dropped from the book. */
function inQuarantine(released: ReadonlyMap<string, string>, now: Date): Map<string, string> {
  return new Map([...released].filter(([, at]) => now.getTime() - Date.parse(at) < RELEASE_QUARANTINE_MS));
}

export interface Allocation {
  /** Every host's address after the write, the hosts asked for included unless exhausted. */
  addresses: ReadonlyMap<string, string>;
  /** Hosts asked for that no address was free for. */
  exhausted: string[];
  /** Hosts that got an address in this call. */
  allocated: string[];
}

/**
 * Gives every host of `hosts` an address, keeping the ones they have: one write for all of them.
 * Not handed out: `reserved` addresses (a record of the zone still points there, though the book
 * does not hold them) and those freed less than RELEASE_QUARANTINE_MS before `now`.
 */
export async function allocateAddresses(book: NameAddressBook, range: LoopbackRange, hosts: Iterable<string>, reserved: ReadonlySet<string>, now: Date): Promise<Allocation> {
  const wanted = [...new Set(hosts)].sort();
  for (let attempt = 0; attempt < BOOK_ATTEMPTS; attempt++) {
    const { revision, addresses, released } = await book.read();
    const next = new Map(addresses);
    const quarantined = inQuarantine(released, now);
    const taken = new Set([...addresses.values(), ...reserved, ...quarantined.keys()]);
    const exhausted: string[] = [];
    const allocated: string[] = [];
    for (const host of wanted) {
      if (next.has(host)) continue;
      const address = chooseAddress(range, host, taken);
      if (address === undefined) {
        exhausted.push(host);
        continue;
      }
      next.set(host, address);
      taken.add(address);
      allocated.push(host);
    }
    // The quarantine's expired entries go with the next write there is, never in a write of their own.
    if (allocated.length === 0 || (await book.write({ addresses: next, released: quarantined }, revision))) return { addresses: next, exhausted, allocated };
  }
  throw contended();
}

/**
 * Takes `hosts` out of the book, each only if it still has `address` (a host freed and allocated
 * again meanwhile keeps its new one), into quarantine from `now`. Call only once no record points
 * at the addresses.
 */
export async function freeAddresses(book: NameAddressBook, hosts: ReadonlyMap<string, string>, now: Date): Promise<string[]> {
  for (let attempt = 0; attempt < BOOK_ATTEMPTS; attempt++) {
    const { revision, addresses, released } = await book.read();
    const next = new Map(addresses);
    const quarantined = inQuarantine(released, now);
    const freed = [...hosts].filter(([host, address]) => next.get(host) === address).map(([host]) => host);
    for (const host of freed) {
      quarantined.set(next.get(host)!, now.toISOString());
      next.delete(host);
    }
    if (freed.length === 0 || (await book.write({ addresses: next, released: quarantined }, revision))) return freed;
  }
  throw contended();
}

const contended = () => new ControlPlaneError('NAME_ADDRESSES_CONTENDED', `the mesh names' address book changed under ${BOOK_ATTEMPTS} writes in a row; the next pass tries again`);
