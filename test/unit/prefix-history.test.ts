// Choosing among several prefixes in use by what the pool has been on: the new one beside the old
// is taken, an old one lingering is never taken back, and two strangers are refused.
import { describe, expect, it } from '@jest/globals';
import { choosePrefix, HISTORY_LENGTH, remember } from '../../lib/plan/prefix-history.js';

const same = (prefix: string) => prefix;
const A = '2a02:8071:1234:5600::/64';
const B = '2a02:8071:1234:56cd::/64';
const C = '2a02:8071:9999:1200::/64';

describe('choosePrefix', () => {
  it('one prefix in use is the one, seen or not', () => {
    expect(choosePrefix([B], [], same)).toEqual({ ok: true, value: B });
    expect(choosePrefix([A, A], [A], same)).toEqual({ ok: true, value: A });
  });

  it('a prefix new to the pool beside the one it is on is the new delegation, in either numeric order', () => {
    expect(choosePrefix([A, B], [A], same)).toEqual({ ok: true, value: B });
    expect(choosePrefix([B, A], [B], same)).toEqual({ ok: true, value: A });
  });

  it('once moved, the old prefix still in use is not taken back: no flip-flop', () => {
    expect(choosePrefix([A, B], [A, B], same)).toEqual({ ok: true, value: B });
    expect(choosePrefix([B, A], [A, B], same)).toEqual({ ok: true, value: B });
  });

  it('a prefix the pool was on before and comes back alone is taken', () => {
    expect(choosePrefix([A], [A, B], same)).toEqual({ ok: true, value: A });
  });

  it('two prefixes new to the pool: refused, naming both and what to do', () => {
    const refused = choosePrefix([B, C], [A], same);
    expect(refused.ok).toBe(false);
    if (!refused.ok)
      expect(refused.error).toBe(
        `several prefixes are in use (${B}, ${C}), 2 of them new to this pool (it has been on ${A}): cannot tell which one the network uses now; nothing was changed. Deprecate the old prefix on the router (preferred lifetime 0), or narrow the source (interface name, node label selector, within(...))`,
      );
  });
});

describe('choosePrefix on a pool with no history', () => {
  it('takes a single prefix, and refuses two without naming a history it does not have', () => {
    expect(choosePrefix([A], [], same)).toEqual({ ok: true, value: A });
    const refused = choosePrefix([A, B], [], same);
    expect(refused).toEqual({
      ok: false,
      error: expect.stringMatching(
        new RegExp(`^several prefixes are in use \\(${A}, ${B}\\), 2 of them new to this pool: cannot tell`),
      ),
    });
  });
});

describe('the history', () => {
  it(`keeps the latest ${String(HISTORY_LENGTH)}, the one chosen last at the end`, () => {
    const many = Array.from({ length: 10 }, (_, i) => `2a02:8071:1234:${String(5600 + i)}::/64`);
    const history = many.reduce<string[]>((h, p) => remember(h, p), []);
    expect(history).toEqual(many.slice(-HISTORY_LENGTH));
    expect(remember([A, B], A)).toEqual([B, A]);
  });
});
