// The claims runs leave on the pool so that a burst restarts MetalLB once and moves the Services once.
import { describe, expect, it } from '@jest/globals';
import { claimFor, holderOf, paidSince } from '../../lib/plan/claims.js';

const NOW = new Date('2026-12-06T02:00:00.000Z');

describe('claims', () => {
  it('a claim lapses exactly at its until; before then it is its run own and another run keeps off', () => {
    const claim = claimFor('a', NOW, 60_000);
    expect(claim).toEqual({ run: 'a', until: '2026-12-06T02:01:00.000Z', since: '2026-12-06T02:00:00.000Z' });
    expect(holderOf(claim, 'a', NOW)).toBe('ours');
    expect(holderOf(claim, 'b', NOW)).toBe('other');
    expect(holderOf(claim, 'b', new Date('2026-12-06T02:00:59.999Z'))).toBe('other');
    expect(holderOf(claim, 'b', new Date('2026-12-06T02:01:00.000Z'))).toBe('free');
    // Its own run still finds it its own after it lapsed: an answer lost, then the retry.
    expect(holderOf(claim, 'a', new Date('2026-12-06T03:00:00.000Z'))).toBe('ours');
    expect(holderOf(undefined, 'a', NOW)).toBe('free');
  });
});

describe('the last restart paid', () => {
  it('grants a forced run its restart only when it began at or after the run started', () => {
    const paid = { run: 'a', at: '2026-12-06T02:00:00.000Z' };
    expect(paidSince(paid, new Date('2026-12-06T02:00:00.000Z'))).toEqual(paid);
    expect(paidSince(paid, new Date('2026-12-06T01:59:59.000Z'))).toEqual(paid);
    expect(paidSince(paid, new Date('2026-12-06T02:00:00.001Z'))).toBeUndefined();
    expect(paidSince(undefined, new Date(0))).toBeUndefined();
  });
});
