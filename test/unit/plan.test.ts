import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseHostRanges, type HostRange } from '../../lib/prefix/host-range.js';
import { planPool, type PlanInput } from '../../lib/plan/plan.js';
import { parsePoolEntry } from '../../lib/plan/pool-entry.js';
import type { OwnershipRecord } from '../../lib/plan/registry.js';

const HOSTS = (() => {
  const parsed = parseHostRanges('::1000-::1999');
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
})();
const OLD = '2a02:8071:1234:5600::1000-2a02:8071:1234:5600::1999';
const NEW = '2a02:8071:1234:56cd::1000-2a02:8071:1234:56cd::1999';
const recorded = (...entries: string[]): OwnershipRecord => ({ kind: 'recorded', entries });

function plan(input: Partial<PlanInput> & Pick<PlanInput, 'current'>) {
  const result = planPool({ ownership: { kind: 'none' }, desired: [NEW], hosts: HOSTS, ...input });
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

describe('planning', () => {
  it('swaps our range in place and leaves IPv4, ULA and foreign IPv6 entries byte for byte', () => {
    const current = [
      '192.168.178.240/28',
      OLD,
      'fd00:1234::/120',
      '2a02:8071:1234:5600::2000 - 2a02:8071:1234:5600::2fff',
    ];
    const p = plan({ current, ownership: recorded(OLD) });
    expect(p.addresses).toEqual(['192.168.178.240/28', NEW, 'fd00:1234::/120', current[3]]);
    expect(p).toMatchObject({ added: [NEW], removed: [OLD], addressesChanged: true, recordChanged: true });
  });

  it('says "no change" when the pool and the record are already right', () => {
    const p = plan({ current: ['10.0.0.0/24', NEW], ownership: recorded(NEW) });
    expect(p).toMatchObject({ addressesChanged: false, recordChanged: false, added: [], removed: [] });
  });

  it("adopts the Rust tool's range on first run by its host part, and records it", () => {
    const p = plan({ current: [OLD, '2a02:8071:1234:5600::1000-2a02:8071:1234:5600::2000'] });
    expect(p.addresses).toEqual([NEW, '2a02:8071:1234:5600::1000-2a02:8071:1234:5600::2000']);
    expect(p.recordChanged).toBe(true);
  });

  it('writes only the record when the addresses are already right but unrecorded', () => {
    const p = plan({ current: [NEW] });
    expect(p).toMatchObject({ addressesChanged: false, recordChanged: true });
  });

  it('never touches an entry it did not record, even one that looks like ours', () => {
    const p = plan({ current: [OLD], ownership: recorded() });
    expect(p.addresses).toEqual([OLD, NEW]);
  });

  it('refuses to add a range overlapping an entry it does not own', () => {
    const result = planPool({
      current: ['2a02:8071:1234:56cd::/64'],
      ownership: recorded(),
      desired: [NEW],
      hosts: HOSTS,
    });
    expect(result).toEqual({
      ok: false,
      error: expect.stringMatching(/overlaps pool entry "2a02:8071:1234:56cd::\/64"/),
    });
  });
});

const NET = '2a02:8071:1234:56cd';
function hostsOf(text: string): HostRange[] {
  const parsed = parseHostRanges(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe('first-run adoption: what counts as ours without a record', () => {
  const OLD_NET = '2a02:8071:1234:5600';
  it.each([
    ['the range the Rust tool wrote', `${OLD_NET}::1000-${OLD_NET}::1999`, '::1000-::1999', true],
    ['with blanks around the dash', `${OLD_NET}::1000 - ${OLD_NET}::1999`, '::1000-::1999', true],
    ['a ULA entry with the same host part', 'fd00:1:2:3::1000-fd00:1:2:3::1999', '::1000-::1999', false],
    [
      'a documentation entry with the same host part',
      '2001:db8:1:2::1000-2001:db8:1:2::1999',
      '::1000-::1999',
      false,
    ],
    ['a link-local entry', 'fe80::1000-fe80::1999', '::1000-::1999', false],
    ['an IPv4 entry', '10.0.0.0/24', '::1000-::1999', false],
    ['a range over two /64s', `${OLD_NET}::1000-2a02:8071:1234:5601::1999`, '::1000-::1999', false],
    ['a range with another end', `${OLD_NET}::1000-${OLD_NET}::2000`, '::1000-::1999', false],
    ['a range with another start', `${OLD_NET}::1001-${OLD_NET}::1999`, '::1000-::1999', false],
    [
      'the second of several host ranges',
      `${OLD_NET}::3000-${OLD_NET}::3fff`,
      '::1000-::1999,::3000-::3fff',
      true,
    ],
    ['a CIDR host range', `${OLD_NET}::1000/116`, '::1000/116', true],
    ['a CIDR of another length', `${OLD_NET}::1000/117`, '::1000/116', false],
    ['a CIDR with another start', `${OLD_NET}::2000/116`, '::1000/116', false],
    ['a range where the host range is a CIDR', `${OLD_NET}::1000-${OLD_NET}::1fff`, '::1000/116', false],
    ['a CIDR where the host range is a range', `${OLD_NET}::1000/116`, '::1000-::1fff', false],
    ['an entry MetalLB cannot parse', 'not-an-address', '::1000-::1999', false],
  ])('%s: %s under %s is adopted: %s', (_, entry, hostText, adopted) => {
    const hosts = hostsOf(hostText);
    const desired = hosts.map((h) =>
      h.kind === 'cidr'
        ? `${NET}${h.text}`
        : h.text
            .split('-')
            .map((x) => `${NET}${x}`)
            .join('-'),
    );
    const result = planPool({ current: [entry], ownership: { kind: 'none' }, desired, hosts });
    if (!result.ok) throw new Error(result.error);
    expect(result.value.previouslyOwned).toEqual(adopted ? [entry] : []);
    expect(result.value.addresses).toEqual(adopted ? desired : [entry, ...desired]);
    expect(result.value.recordChanged).toBe(true);
  });

  it('adopts every entry matching one of several host ranges, and keeps the pool order', () => {
    const hosts = hostsOf('::3000-::3fff,::1000-::1999');
    const current = ['10.0.0.0/24', `2a02:1::1000-2a02:1::1999`, 'fd00::/120', `2a02:1::3000-2a02:1::3fff`];
    const desired = [`${NET}::3000-${NET}::3fff`, `${NET}::1000-${NET}::1999`];
    const result = planPool({ current, ownership: { kind: 'none' }, desired, hosts });
    if (!result.ok) throw new Error(result.error);
    expect(result.value.addresses).toEqual(['10.0.0.0/24', ...desired, 'fd00::/120']);
    expect(result.value.removed).toEqual([current[1], current[3]]);
  });
});

describe('overlap boundaries with entries it does not own', () => {
  const desired = [`${NET}::1000-${NET}::1999`];
  it.each([
    ['touching the first address', `${NET}::0-${NET}::1000`, true],
    ['ending just before it', `${NET}::0-${NET}::fff`, false],
    ['touching the last address', `${NET}::1999-${NET}::2000`, true],
    ['starting just after it', `${NET}::199a-${NET}::2000`, false],
    ['inside it', `${NET}::1500-${NET}::1500`, true],
    ['around it', `${NET}::/64`, true],
    ['a CIDR reaching into it', `${NET}::1900/120`, true],
    ['a CIDR just before it', `${NET}::f00/120`, false],
    ['the same host part in another /64', '2a02:8071:1234:56ce::1000-2a02:8071:1234:56ce::1999', false],
    ['an IPv4 entry', '10.0.16.0-10.0.25.153', false],
    ['a reversed range (MetalLB refuses it; kept as it is)', `${NET}::1999-${NET}::1000`, false],
    ['an entry MetalLB cannot parse (kept as it is)', 'not-an-address', false],
  ])('%s (%s) clashes: %s', (_, entry, clash) => {
    const result = planPool({
      current: [entry],
      ownership: { kind: 'recorded', entries: [] },
      desired,
      hosts: HOSTS,
    });
    expect(result.ok).toBe(!clash);
    if (result.ok) expect(result.value.addresses).toEqual([entry, ...desired]);
    else
      expect(result.error).toBe(
        `desired range ${desired[0] ?? ''} overlaps pool entry "${entry}", which metallb-dyn6 does not own; remove that entry or change the host range`,
      );
  });

  it('checks every desired range, whichever host range is listed first', () => {
    const hosts = hostsOf('::3000-::3fff,::1000-::1999');
    const result = planPool({
      current: [`${NET}::1999-${NET}::1999`],
      ownership: { kind: 'recorded', entries: [] },
      desired: [`${NET}::3000-${NET}::3fff`, `${NET}::1000-${NET}::1999`],
      hosts,
    });
    expect(result.ok).toBe(false);
  });

  it('refuses a desired entry that is not a pool entry at all', () => {
    expect(planPool({ current: [], ownership: { kind: 'none' }, desired: ['x'], hosts: HOSTS })).toEqual({
      ok: false,
      error: 'internal: desired entry "x" is not a valid pool entry',
    });
  });
});

describe('where our entries go and what the plan says', () => {
  it('puts the desired entries where the first of ours stood, closing up the rest', () => {
    const current = ['a', OLD, 'b', 'c', '2a02:1::1000-2a02:1::1999', 'd'];
    const p = plan({ current, ownership: recorded(OLD, '2a02:1::1000-2a02:1::1999') });
    expect(p.addresses).toEqual(['a', NEW, 'b', 'c', 'd']);
    expect(p.removed).toEqual([OLD, '2a02:1::1000-2a02:1::1999']);
    expect(p.previouslyOwned).toEqual([OLD, '2a02:1::1000-2a02:1::1999']);
  });

  it('appends when nothing of ours is in the pool, even if the record names entries that are gone', () => {
    const p = plan({ current: ['a', 'b'], ownership: recorded(OLD) });
    expect(p).toMatchObject({ addresses: ['a', 'b', NEW], removed: [], added: [NEW], previouslyOwned: [] });
  });

  it('keeps an owned entry that is still desired out of both added and removed', () => {
    const p = plan({ current: [NEW, OLD], ownership: recorded(NEW, OLD) });
    expect(p).toMatchObject({ addresses: [NEW], removed: [OLD], added: [], addressesChanged: true });
  });

  it('rewrites the record when it lists the same entries in another order', () => {
    const current = [NEW, `${NET}::3000-${NET}::3fff`];
    const result = planPool({
      current,
      ownership: recorded(current[1] ?? '', NEW),
      desired: current,
      hosts: hostsOf('::1000-::1999,::3000-::3fff'),
    });
    if (!result.ok) throw new Error(result.error);
    expect(result.value).toMatchObject({ addressesChanged: false, recordChanged: true });
  });

  it('sees a reordering of the addresses as a change', () => {
    const p = plan({ current: ['10.0.0.0/24', NEW], ownership: recorded(NEW) });
    expect(p.addressesChanged).toBe(false);
    const q = plan({ current: [NEW, '10.0.0.0/24'], ownership: recorded(NEW), desired: [NEW] });
    expect(q.addressesChanged).toBe(false);
    const r = plan({ current: [NEW, '10.0.0.0/24', NEW], ownership: recorded(NEW) });
    expect(r).toMatchObject({ addresses: [NEW, '10.0.0.0/24'], addressesChanged: true });
  });
});

// Arbitrary pools. Each foreign entry carries the test's own knowledge of whether it overlaps the
// desired range, so the planner's refusals are checked against an oracle, not skipped.
const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const globalNet = fc
  .tuple(fc.integer({ min: 0x2400, max: 0x2a0f }), hex, hex, hex)
  .map(([a, b, c, d]) => `${a.toString(16)}:${b}:${c}:${d}`);
const ourEntry = globalNet.map((net) => `${net}::1000-${net}::1999`);
interface Foreign {
  text: string;
  /** Host values [first, last] in a /64 that may be the desired one; undefined when it cannot overlap. */
  span?: [number, number];
  net?: string;
}
const foreign: fc.Arbitrary<Foreign> = fc.oneof(
  fc
    .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }))
    .map(([a, b]) => ({ text: `${String(a)}.${String(b)}.0.0/24` })),
  hex.map((h) => ({ text: `fd00:${h}::/120` })),
  // Near the desired host range, in a net that is sometimes the desired one (see poolArb).
  fc
    .tuple(fc.integer({ min: 0xf00, max: 0x1a00 }), fc.integer({ min: 0, max: 0x200 }), fc.boolean())
    .map(([first, width, sameNet]) => ({
      text: `NET::${first.toString(16)}-NET::${(first + width).toString(16)}`,
      span: [first, first + width] as [number, number],
      net: sameNet ? 'desired' : 'other',
    })),
);
const poolArb = fc.record({
  others: fc.array(foreign, { maxLength: 5 }),
  ours: fc.array(ourEntry, { maxLength: 2 }),
  at: fc.nat(),
  recordedOwnership: fc.boolean(),
  desiredNet: globalNet,
  otherNet: globalNet,
});

type PoolCase = typeof poolArb extends fc.Arbitrary<infer T> ? T : never;

function othersOf(p: PoolCase): string[] {
  const net = (f: Foreign) => (f.net === 'desired' ? p.desiredNet : p.otherNet);
  return p.others.map((f) => f.text.replaceAll('NET', net(f)));
}

function inputOf(p: PoolCase, hosts: HostRange[]): PlanInput {
  const others = othersOf(p);
  const at = others.length === 0 ? 0 : p.at % (others.length + 1);
  const current = [...others.slice(0, at), ...p.ours, ...others.slice(at)];
  return {
    current,
    ownership: p.recordedOwnership ? recorded(...p.ours) : { kind: 'none' },
    desired: [`${p.desiredNet}::1000-${p.desiredNet}::1999`],
    hosts,
  };
}

/** The oracle: a foreign entry in the desired /64 whose host span meets 0x1000..0x1999. */
function clashes(p: PoolCase): boolean {
  return p.others.some(
    (f) =>
      f.span !== undefined &&
      (f.net === 'desired' || p.otherNet === p.desiredNet) &&
      f.span[0] <= 0x1999 &&
      f.span[1] >= 0x1000,
  );
}

describe('planning properties', () => {
  it('refuses exactly when a foreign entry overlaps the desired range', () => {
    let refused = 0;
    fc.assert(
      fc.property(poolArb, (p) => {
        const result = planPool(inputOf(p, HOSTS));
        expect(result.ok).toBe(!clashes(p));
        if (!result.ok) {
          refused++;
          expect(result.error).toMatch(/overlaps pool entry ".*", which metallb-dyn6 does not own/);
        }
      }),
      { numRuns: 500 },
    );
    expect(refused).toBeGreaterThan(20);
  });

  it('planning an applied plan again changes nothing', () => {
    fc.assert(
      fc.property(poolArb, (p) => {
        fc.pre(!clashes(p));
        const input = inputOf(p, HOSTS);
        const first = planPool(input);
        if (!first.ok) throw new Error(first.error);
        const again = planPool({
          ...input,
          current: first.value.addresses,
          ownership: recorded(...first.value.owned),
        });
        if (!again.ok) throw new Error(again.error);
        expect(again.value).toMatchObject({
          addressesChanged: false,
          recordChanged: false,
          added: [],
          removed: [],
        });
      }),
    );
  });

  it('keeps every entry it does not own, in order, byte for byte, and records exactly the desired ones', () => {
    fc.assert(
      fc.property(poolArb, (p) => {
        fc.pre(!clashes(p));
        const input = inputOf(p, HOSTS);
        const result = planPool(input);
        if (!result.ok) throw new Error(result.error);
        const kept = result.value.addresses.filter((a) => !input.desired.includes(a));
        expect(kept).toEqual(othersOf(p));
        expect(result.value.owned).toEqual(input.desired);
        expect(result.value.addresses.filter((a) => input.desired.includes(a))).toEqual(input.desired);
      }),
    );
  });

  it('always produces entries MetalLB can parse', () => {
    fc.assert(
      fc.property(poolArb, (p) => {
        fc.pre(!clashes(p));
        const result = planPool(inputOf(p, HOSTS));
        if (!result.ok) throw new Error(result.error);
        for (const entry of result.value.addresses) expect(parsePoolEntry(entry)).toBeDefined();
      }),
    );
  });
});
