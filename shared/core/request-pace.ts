/**
 * Spaces requests evenly under a rate (docs/architecture.md#mesh-names): each request takes the next slot,
 * 1/rate seconds after the one before, so no second holds more than `perSecond` of them, bursts
 * included. Route53 allows five requests a second per account for ChangeResourceRecordSets and
 * the reads together (Route53 Developer Guide, "Quotas", "Number of requests"); pacing at four
 * leaves room for an operator's console. Pure: the caller gives the time and waits.
 */
export class RequestPace {
  private nextSlotMs = Number.NEGATIVE_INFINITY;

  constructor(readonly perSecond: number) {}

  /** Takes the next slot at or after `nowMs` and says how long to wait for it. */
  reserve(nowMs: number): number {
    const slot = Math.max(nowMs, this.nextSlotMs);
    this.nextSlotMs = slot + 1000 / this.perSecond;
    return slot - nowMs;
  }
}

/** Route53's requests per second per account, less one (see RequestPace). */
export const ROUTE53_REQUESTS_PER_SECOND = 4;
