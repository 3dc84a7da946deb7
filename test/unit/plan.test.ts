import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseHostRanges, type HostRange } from '../../lib/prefix/host-range.js';
import { planPool, type PlanInput } from '../../lib/plan/plan.js';
import { parsePoolEntry } from '../../lib/plan/pool-entry.js';
import { OWNED_ANNOTATION, readOwnership, type OwnershipRecord } from '../../lib/plan/registry.js';

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
  return result.plan;
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

  it('reads the ownership record strictly', () => {
    expect(readOwnership({ [OWNED_ANNOTATION]: '["a"]' })).toEqual(recorded('a'));
    expect(readOwnership({})).toEqual({ kind: 'none' });
    expect(readOwnership({ [OWNED_ANNOTATION]: 'a,b' })).toBeInstanceOf(Error);
    expect(readOwnership({ [OWNED_ANNOTATION]: '[1]' })).toBeInstanceOf(Error);
  });
});

// Arbitrary pools: foreign entries of every kind MetalLB accepts, plus entries the tool may own.
const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const globalNet = fc
  .tuple(fc.integer({ min: 0x2400, max: 0x2a0f }), hex, hex, hex)
  .map(([a, b, c, d]) => `${a.toString(16)}:${b}:${c}:${d}`);
const ourEntry = globalNet.map((net) => `${net}::1000-${net}::1999`);
const foreign = fc.oneof(
  fc
    .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }))
    .map(([a, b]) => `${String(a)}.${String(b)}.0.0/24`),
  hex.map((h) => `fd00:${h}::/120`),
  globalNet.map((net) => `${net}::5000-${net}::5fff`),
  globalNet.map((net) => `${net}::/120`),
);
const poolArb = fc.record({
  others: fc.array(foreign, { maxLength: 5 }),
  ours: fc.array(ourEntry, { maxLength: 2 }),
  at: fc.nat(),
  recordedOwnership: fc.boolean(),
  desiredNet: globalNet,
});

type PoolCase = typeof poolArb extends fc.Arbitrary<infer T> ? T : never;

function inputOf(p: PoolCase, hosts: HostRange[]): PlanInput {
  const at = p.others.length === 0 ? 0 : p.at % (p.others.length + 1);
  const current = [...p.others.slice(0, at), ...p.ours, ...p.others.slice(at)];
  return {
    current,
    ownership: p.recordedOwnership ? recorded(...p.ours) : { kind: 'none' },
    desired: [`${p.desiredNet}::1000-${p.desiredNet}::1999`],
    hosts,
  };
}

describe('planning properties', () => {
  it('planning an applied plan again changes nothing', () => {
    fc.assert(
      fc.property(poolArb, (p) => {
        const input = inputOf(p, HOSTS);
        const first = planPool(input);
        fc.pre(first.ok);
        const again = planPool({
          ...input,
          current: first.plan.addresses,
          ownership: recorded(...first.plan.owned),
        });
        expect(again.ok && !again.plan.addressesChanged && !again.plan.recordChanged).toBe(true);
      }),
    );
  });

  it('keeps every entry it does not own, in order, byte for byte', () => {
    fc.assert(
      fc.property(poolArb, (p) => {
        const input = inputOf(p, HOSTS);
        const result = planPool(input);
        if (!result.ok) return;
        const owned = new Set(p.ours);
        const kept = result.plan.addresses.filter((a) => !input.desired.includes(a));
        expect(kept).toEqual(input.current.filter((a) => !owned.has(a)));
      }),
    );
  });

  it('always produces entries MetalLB can parse', () => {
    fc.assert(
      fc.property(poolArb, (p) => {
        const result = planPool(inputOf(p, HOSTS));
        if (!result.ok) return;
        for (const entry of result.plan.addresses) expect(parsePoolEntry(entry)).toBeDefined();
      }),
    );
  });
});
