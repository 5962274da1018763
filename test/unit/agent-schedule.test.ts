import { describe, expect, it } from 'vitest';
import { backoffDelayMs, parseRetryAfterMs, refreshDelayMs } from '../../cli/agent/schedule.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('refreshDelayMs', () => {
  it.each([
    { case: 'the lowest jitter', random: 0, delay: 2_160_000 },
    { case: 'no jitter', random: 0.5, delay: 2_400_000 },
    { case: 'the highest jitter', random: 0.999_999, delay: 2_640_000 },
  ])('refreshes an hour-long token at 2/3 of its life with $case', ({ random, delay }) => {
    expect(refreshDelayMs(NOW, NOW + 3_600_000, random)).toBeCloseTo(delay, -1);
  });

  it('refreshes a 3-second token after about 2 seconds', () => {
    expect(refreshDelayMs(NOW, NOW + 3000, 0.5)).toBe(2000);
  });

  it('waits at least a second even for a token that is already expired', () => {
    expect(refreshDelayMs(NOW, NOW - 60_000, 0.5)).toBe(1000);
  });
});

describe('backoffDelayMs', () => {
  it.each([
    { attempt: 0, high: 2000 },
    { attempt: 1, high: 4000 },
    { attempt: 2, high: 8000 },
    { attempt: 4, high: 32_000 },
    { attempt: 5, high: 60_000 },
    { attempt: 50, high: 60_000 },
    { attempt: Number.MAX_SAFE_INTEGER, high: 60_000 },
    { attempt: -1, high: 2000 },
  ])('spreads retry $attempt over 1 s to $high ms', ({ attempt, high }) => {
    expect(backoffDelayMs(attempt, 0)).toBe(1000);
    expect(backoffDelayMs(attempt, 0.5)).toBe(Math.round(1000 + (high - 1000) / 2));
    expect(backoffDelayMs(attempt, 0.999_999)).toBe(high);
  });
});

describe('parseRetryAfterMs', () => {
  it.each([
    { case: 'delta-seconds', value: '7', ms: 7000 },
    { case: 'zero (raised to the 1 s floor)', value: '0', ms: 1000 },
    { case: 'an HTTP date 30 s ahead', value: new Date(NOW + 30_000).toUTCString(), ms: 30_000 },
    { case: 'an hour (capped at 5 minutes)', value: '3600', ms: 300_000 },
    { case: 'garbage', value: 'soon', ms: undefined },
    { case: 'no header', value: undefined, ms: undefined },
  ])('reads $case', ({ value, ms }) => {
    expect(parseRetryAfterMs(value, NOW)).toBe(ms);
  });
});
