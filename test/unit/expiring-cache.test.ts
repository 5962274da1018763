import { describe, expect, it } from 'vitest';
import { ExpiringCache } from '../../shared/adapters/expiring-cache.js';

describe('ExpiringCache', () => {
  it('shares one load between concurrent misses of a key', async () => {
    const cache = new ExpiringCache<number>(1000, () => 0);
    let loads = 0;
    const load = async () => ++loads;

    const values = await Promise.all([cache.getOrLoad('k', load), cache.getOrLoad('k', load), cache.getOrLoad('k', load)]);

    expect(values).toEqual([1, 1, 1]);
    expect(loads).toBe(1);
  });

  it('loads again once the entry has expired', async () => {
    let now = 0;
    const cache = new ExpiringCache<number>(1000, () => now);
    let loads = 0;
    await cache.getOrLoad('k', async () => ++loads);

    now = 999;
    await cache.getOrLoad('k', async () => ++loads);
    now = 1000;
    const value = await cache.getOrLoad('k', async () => ++loads);

    expect(value).toBe(2);
  });

  it('does not keep a failed load, so the next call retries', async () => {
    const cache = new ExpiringCache<number>(1000, () => 0);

    await expect(cache.getOrLoad('k', async () => Promise.reject(new Error('throttled')))).rejects.toThrow('throttled');
    const value = await cache.getOrLoad('k', async () => 7);

    expect(value).toBe(7);
  });

  it('keeps nothing when the TTL is zero', async () => {
    const cache = new ExpiringCache<number>(0, () => 0);
    let loads = 0;

    await cache.getOrLoad('k', async () => ++loads);
    await cache.getOrLoad('k', async () => ++loads);

    expect(loads).toBe(2);
  });
});
