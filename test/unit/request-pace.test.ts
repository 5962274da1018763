/** RequestPace (shared/core/request-pace.ts): evenly spaced slots, so no second holds more than the rate, bursts included. */
import { describe, expect, it } from 'vitest';
import { RequestPace, ROUTE53_REQUESTS_PER_SECOND } from '../../shared/core/request-pace.js';

describe('Class: RequestPace', () => {
  it('lets the first request go at once and spaces a burst 1/rate apart', () => {
    const pace = new RequestPace(4);

    const waits = [0, 0, 0, 0, 0].map((now) => pace.reserve(now));

    expect(waits).toEqual([0, 250, 500, 750, 1000]);
  });

  it('owes no wait to a request that comes after its slot', () => {
    const pace = new RequestPace(4);
    pace.reserve(0);

    expect(pace.reserve(300)).toBe(0);
    expect(pace.reserve(310)).toBe(240);
  });

  it('keeps any second of a long burst under Route53\'s five requests', () => {
    const pace = new RequestPace(ROUTE53_REQUESTS_PER_SECOND);
    let now = 0;
    const sent: number[] = [];
    for (let i = 0; i < 50; i++) {
      now += pace.reserve(now);
      sent.push(now);
    }

    const busiest = Math.max(...sent.map((t) => sent.filter((u) => u >= t && u < t + 1000).length));
    expect(busiest).toBeLessThan(5);
  });
});
