/** mapLimited (shared/app/map-limited.ts): a bound on calls in flight, results in the items' order. */
import { describe, expect, it } from 'vitest';
import { mapLimited } from '../../shared/app/map-limited.js';

describe('mapLimited', () => {
  it('keeps at most `limit` calls in flight and the results in the items’ order', async () => {
    let inFlight = 0;
    let most = 0;
    const pending: (() => void)[] = [];
    const run = async (n: number) => {
      most = Math.max(most, ++inFlight);
      await new Promise<void>((release) => pending.push(release));
      inFlight--;
      return n * 10;
    };

    const mapped = mapLimited([1, 2, 3, 4, 5], 2, run);
    // Release the calls one at a time, last started first, until all are done.
    for (let released = 0; released < 5; released++) {
      await new Promise((r) => setImmediate(r));
      pending.pop()?.();
    }

    expect(await mapped).toEqual([10, 20, 30, 40, 50]);
    expect(most).toBe(2);
  });

  it('answers an empty list, and runs one at a time at a limit below one', async () => {
    expect(await mapLimited([], 4, async () => 1)).toEqual([]);
    let most = 0;
    let inFlight = 0;
    await mapLimited([1, 2, 3], 0, async () => {
      most = Math.max(most, ++inFlight);
      await Promise.resolve();
      inFlight--;
    });
    expect(most).toBe(1);
  });
});
