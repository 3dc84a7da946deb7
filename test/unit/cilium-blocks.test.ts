// Cilium's pool blocks read as pool entries and written back: a block the plan keeps is the very
// object it was; only the blocks the plan makes are new.
import { describe, expect, it } from '@jest/globals';
import { blocksFor, blockText, type CiliumBlock } from '../../lib/cluster/cilium-blocks.js';

const OURS_OLD = '2a02:8071:1234:5600::1000-2a02:8071:1234:5600::1999';
const OURS_NEW = '2a02:8071:1234:56cd::1000-2a02:8071:1234:56cd::1999';

describe('a Cilium block as a pool entry', () => {
  it('is its cidr, its start-stop range, or its one start address as a range; a block with neither is none', () => {
    expect(blockText({ cidr: '192.168.178.240/28' })).toBe('192.168.178.240/28');
    expect(blockText({ start: '2a02:8071:1234:5600::1000', stop: '2a02:8071:1234:5600::1999' })).toBe(
      OURS_OLD,
    );
    expect(blockText({ start: 'fd00::5' })).toBe('fd00::5-fd00::5');
    // Cilium validates one of the two forms; a cidr wins as it does in Cilium's own reading.
    expect(blockText({ cidr: 'fd00::/64', start: 'fd00::1' })).toBe('fd00::/64');
    expect(blockText({})).toBeUndefined();
  });
});

describe('blocks for planned entries', () => {
  it('keeps every block the plan keeps as the object it was, in the plan order, and makes ours anew', () => {
    const v4 = { cidr: '192.168.178.240/28' };
    const single = { start: 'fd00::5' };
    const person = { start: 'fd00::10', stop: 'fd00::20', extra: 'kept' } as CiliumBlock;
    const ours = { start: '2a02:8071:1234:5600::1000', stop: '2a02:8071:1234:5600::1999' };
    const previous = [v4, single, ours, person];
    const blocks = blocksFor(
      ['192.168.178.240/28', 'fd00::5-fd00::5', OURS_NEW, 'fd00::10-fd00::20'],
      previous,
    );
    expect(blocks).toEqual([
      v4,
      single,
      { start: '2a02:8071:1234:56cd::1000', stop: '2a02:8071:1234:56cd::1999' },
      person,
    ]);
    expect(blocks[0]).toBe(v4);
    expect(blocks[1]).toBe(single);
    expect(blocks[3]).toBe(person);
  });

  it('makes a CIDR entry a cidr block and a range a start and stop', () => {
    expect(
      blocksFor(['2a02:8071:1234:56cd::1000/116', '2a02:8071:1234:56cd::7-2a02:8071:1234:56cd::9'], []),
    ).toEqual([
      { cidr: '2a02:8071:1234:56cd::1000/116' },
      { start: '2a02:8071:1234:56cd::7', stop: '2a02:8071:1234:56cd::9' },
    ]);
  });

  it('keeps two blocks of the same text as the two objects they were, in order', () => {
    const first = { cidr: 'fd00::/64' };
    const second = { cidr: 'fd00::/64', note: 'second' } as CiliumBlock;
    const blocks = blocksFor(['fd00::/64', 'fd00::/64'], [first, second]);
    expect(blocks[0]).toBe(first);
    expect(blocks[1]).toBe(second);
  });
});
