// The claims runs leave on the pool so that a burst restarts MetalLB once and moves the Services once.
import { describe, expect, it } from '@jest/globals';
import {
  claimFor,
  holderOf,
  readReloadDebt,
  readServicesMoving,
  reloadMark,
  restartSince,
  servicesMovingText,
} from '../../lib/plan/claims.js';
import { fail, ok } from '../../lib/errors/result.js';

const NOW = new Date('2026-12-06T02:00:00.000Z');
const MOVING = 'metallb-dyn6/services-moving';

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

  it('reads the owed-restart mark: a claim, the timestamp earlier releases wrote, anything else open to all', () => {
    expect(readReloadDebt(undefined)).toEqual({ owed: false });
    const claim = claimFor('a', NOW, 1000);
    expect(readReloadDebt(reloadMark(claim, NOW))).toEqual({ owed: true, claim });
    expect(reloadMark(undefined, NOW)).toBe('2026-12-06T02:00:00.000Z');
    expect(readReloadDebt('2026-11-28T04:00:00.000Z')).toEqual({ owed: true });
    for (const garbage of [
      '',
      '{',
      'null',
      '[]',
      '{"run":1,"until":"x"}',
      '{"run":"a","until":"soon"}',
      '{"run":"a"}',
    ])
      expect(readReloadDebt(garbage)).toEqual({ owed: true });
  });

  it('reads the record of a Services move, and refuses a broken one with a bounded echo', () => {
    expect(readServicesMoving(undefined, MOVING)).toEqual(ok(undefined));
    const moving = { to: '2a02:8071:1234:56cd::/64', ...claimFor('a', NOW, 1000) };
    expect(readServicesMoving(servicesMovingText(moving), MOVING)).toEqual(ok(moving));
    expect(readServicesMoving('{"run":"a","until":"2026-12-06T02:00:00.000Z"}', MOVING)).toEqual(
      fail(
        `annotation ${MOVING} must be a JSON object {"to", "run", "until"}, got "{\\"run\\":\\"a\\",\\"until\\":\\"2026-12-06T02:00:00.000Z\\"}"; fix or remove it`,
      ),
    );
    const huge = readServicesMoving('x'.repeat(250_000), MOVING);
    expect(huge.ok).toBe(false);
    if (!huge.ok) {
      expect(huge.error.length).toBeLessThan(700);
      expect(huge.error).toContain('(250000 bytes in all)');
    }
  });
});

describe('the last restart paid', () => {
  it('grants a forced run its restart only when it began at or after the run started', () => {
    const paid = JSON.stringify({ run: 'a', at: '2026-12-06T02:00:00.000Z' });
    expect(restartSince(paid, new Date('2026-12-06T02:00:00.000Z'))).toEqual({
      run: 'a',
      at: '2026-12-06T02:00:00.000Z',
    });
    expect(restartSince(paid, new Date('2026-12-06T01:59:59.000Z'))).toEqual({
      run: 'a',
      at: '2026-12-06T02:00:00.000Z',
    });
    expect(restartSince(paid, new Date('2026-12-06T02:00:00.001Z'))).toBeUndefined();
    for (const garbage of [undefined, '', 'x', 'null', '{"run":"a"}', '{"at":"2026-12-06T02:00:00.000Z"}'])
      expect(restartSince(garbage, new Date(0))).toBeUndefined();
  });
});
