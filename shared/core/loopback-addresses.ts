/**
 * The loopback addresses mesh names point at (docs/architecture.md#mesh-names): a range of 127.0.0.0/8 the
 * operator configures (meshNameCidr), one address per mesh service. On Linux the whole of 127/8
 * reaches the loopback interface, so a Fargate task's proxy can bind any of them without an
 * interface of its own. 127.0.0.1 is never handed out: the app and the Sidecar's ingress use it.
 */
import { createHash } from 'node:crypto';

export interface LoopbackRange {
  /** As configured, e.g. `127.1.0.0/16`. */
  cidr: string;
  /** The first and last address handed out, as 32-bit numbers (the range's own network and broadcast addresses are not). */
  first: number;
  last: number;
}

const LOOPBACK_NET = 127;
const APP_ADDRESS = '127.0.0.1';

/** Parses `127.a.b.c/len` (len 8 to 30): a range inside 127.0.0.0/8 with room for at least two names. */
export function parseLoopbackRange(cidr: string): { ok: true; range: LoopbackRange } | { ok: false; problem: string } {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!match) return { ok: false, problem: `${cidr}: not an IPv4 CIDR (a.b.c.d/len)` };
  const octets = match.slice(1, 5).map(Number);
  const length = Number(match[5]);
  if (octets.some((o) => o > 255)) return { ok: false, problem: `${cidr}: an octet is over 255` };
  if (octets[0] !== LOOPBACK_NET) return { ok: false, problem: `${cidr}: not inside 127.0.0.0/8, so a task's proxy could not bind it on loopback` };
  if (length < 8 || length > 30) return { ok: false, problem: `${cidr}: the prefix length must be 8 to 30` };
  const size = 2 ** (32 - length);
  const base = toNumber(octets);
  if (base % size !== 0) return { ok: false, problem: `${cidr}: host bits are set (the network address is ${fromNumber(base - (base % size))}/${length})` };
  return { ok: true, range: { cidr, first: base + 1, last: base + size - 2 } };
}

/** How many addresses the range hands out. */
export const rangeSize = (range: LoopbackRange): number => range.last - range.first + 1;

export const isInRange = (range: LoopbackRange, address: string): boolean => {
  const n = parseAddress(address);
  return n !== undefined && n >= range.first && n <= range.last;
};

/**
 * The address to try for `fqdn`, at its `attempt`-th try: a start derived from the name (so a
 * service tends to get the same address across deployments, and two allocators racing for two
 * services rarely try the same one), then the next addresses in turn, wrapping around, skipping
 * 127.0.0.1. `undefined` once every address of the range was tried.
 */
export function candidateAddress(range: LoopbackRange, fqdn: string, attempt: number): string | undefined {
  const size = rangeSize(range);
  if (attempt >= size) return undefined;
  const start = createHash('sha256').update(fqdn).digest().readUInt32BE(0) % size;
  const address = fromNumber(range.first + ((start + attempt) % size));
  return address === APP_ADDRESS ? candidateAddress(range, fqdn, attempt + 1) : address;
}

/**
 * The first address for `fqdn` that `taken` does not hold: the allocator's choice, given what it
 * has read. `undefined` when the range is full.
 */
export function chooseAddress(range: LoopbackRange, fqdn: string, taken: ReadonlySet<string>): string | undefined {
  for (let attempt = 0; ; attempt++) {
    const address = candidateAddress(range, fqdn, attempt);
    if (address === undefined || !taken.has(address)) return address;
  }
}

function parseAddress(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return toNumber(parts.map(Number));
}

const toNumber = (octets: number[]): number => octets.reduce((n, o) => n * 256 + o, 0);
const fromNumber = (n: number): string => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
