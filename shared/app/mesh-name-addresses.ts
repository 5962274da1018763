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
 * `reserved`: addresses that may not be handed out though the book does not hold them (a record
 * of the zone still points there).
 */
export async function allocateAddresses(book: NameAddressBook, range: LoopbackRange, hosts: Iterable<string>, reserved: ReadonlySet<string> = new Set()): Promise<Allocation> {
  const wanted = [...new Set(hosts)].sort();
  for (let attempt = 0; attempt < BOOK_ATTEMPTS; attempt++) {
    const { revision, addresses } = await book.read();
    const next = new Map(addresses);
    const taken = new Set([...addresses.values(), ...reserved]);
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
    if (allocated.length === 0 || (await book.write(next, revision))) return { addresses: next, exhausted, allocated };
  }
  throw contended();
}

/**
 * Takes `hosts` out of the book, each only if it still has `address` (a host freed and allocated
 * again meanwhile keeps its new one). Call only once no record points at the addresses.
 */
export async function freeAddresses(book: NameAddressBook, hosts: ReadonlyMap<string, string>): Promise<string[]> {
  for (let attempt = 0; attempt < BOOK_ATTEMPTS; attempt++) {
    const { revision, addresses } = await book.read();
    const next = new Map(addresses);
    const freed = [...hosts].filter(([host, address]) => next.get(host) === address).map(([host]) => host);
    for (const host of freed) next.delete(host);
    if (freed.length === 0 || (await book.write(next, revision))) return freed;
  }
  throw contended();
}

const contended = () => new ControlPlaneError('NAME_ADDRESSES_CONTENDED', `the mesh names' address book changed under ${BOOK_ATTEMPTS} writes in a row; the next pass tries again`);
