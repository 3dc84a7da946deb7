// An oracle for "is this a usable source answer?" written from the RFCs, independent of the product
// (no ipaddr.js): addresses are generated as eight 16-bit groups, and their class is looked up in
// IANA's IPv6 Special-Purpose Address Registry by integer comparison.
import fc from 'fast-check';

export type Groups = readonly number[];

const toBig = (groups: Groups): bigint => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);

interface Block {
  name: string;
  groups: Groups;
  length: number;
}
const block = (name: string, groups: number[], length: number): Block => ({
  name,
  groups: [...groups, ...Array<number>(8 - groups.length).fill(0)],
  length,
});

/** RFC 4291 §2.4: global unicast is 2000::/3 (RFC 3587); everything else in it is below. */
export const GLOBAL_UNICAST = block('global unicast', [0x2000], 3);

/** IANA special-purpose blocks that lie inside 2000::/3 (the rest of the registry is outside it). */
export const SPECIAL_INSIDE_GLOBAL: readonly Block[] = [
  block('IETF protocol assignments (RFC 2928)', [0x2001], 23),
  block('Teredo (RFC 4380)', [0x2001, 0], 32),
  block('benchmarking (RFC 5180)', [0x2001, 2, 0], 48),
  block('AMT (RFC 7450)', [0x2001, 3], 32),
  block('AS112-v6 (RFC 7535)', [0x2001, 4, 0x112], 48),
  block('ORCHIDv2 (RFC 7343)', [0x2001, 0x20], 28),
  block('documentation (RFC 3849)', [0x2001, 0xdb8], 32),
  block('6to4 (RFC 3056)', [0x2002], 16),
  block('AS112 direct delegation (RFC 7534)', [0x2620, 0x4f, 0x8000], 48),
  block('documentation (RFC 9637)', [0x3fff], 20),
];

/** Blocks outside 2000::/3 that sources really return: each must be refused as well. */
export const OUTSIDE_GLOBAL: readonly Block[] = [
  block('unspecified', [], 128),
  block('loopback', [0, 0, 0, 0, 0, 0, 0, 1], 128),
  block('IPv4-mapped', [0, 0, 0, 0, 0, 0xffff], 96),
  block('NAT64 (RFC 6052)', [0x64, 0xff9b], 96),
  block('discard (RFC 6666)', [0x100], 64),
  block('SRv6 SIDs (RFC 9602)', [0x5f00], 16),
  block('unique local (RFC 4193)', [0xfc00], 7),
  block('link-local', [0xfe80], 10),
  block('multicast', [0xff00], 8),
];

function contains(b: Block, groups: Groups): boolean {
  const shift = BigInt(128 - b.length);
  return toBig(groups) >> shift === toBig(b.groups) >> shift;
}

export function isGlobalUnicast(groups: Groups): boolean {
  return contains(GLOBAL_UNICAST, groups) && !SPECIAL_INSIDE_GLOBAL.some((b) => contains(b, groups));
}

/** Full form, or RFC 5952 style with the longest run of zero groups shortened to "::". */
export function formatGroups(groups: Groups, compressed: boolean): string {
  const hex = groups.map((g) => g.toString(16));
  if (!compressed) return hex.join(':');
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; i++) {
    let len = 0;
    while (i + len < 8 && groups[i + len] === 0) len++;
    if (len > best.len) best = { at: i, len };
  }
  if (best.at === -1) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

const group = fc.integer({ min: 0, max: 0xffff });
const anyGroups = fc.array(group, { minLength: 8, maxLength: 8 });

/** An address inside `b` with random bits after its prefix. */
function inside(b: Block): fc.Arbitrary<number[]> {
  return anyGroups.map((random) => {
    const shift = BigInt(128 - b.length);
    const mask = (1n << shift) - 1n;
    const value = (toBig(b.groups) & ~mask) | (toBig(random) & mask);
    return Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  });
}

/** The addresses just outside a block: where an off-by-one in a range check shows. */
function justOutside(b: Block): number[][] {
  const shift = BigInt(128 - b.length);
  const first = toBig(b.groups);
  const last = first | ((1n << shift) - 1n);
  const max = (1n << 128n) - 1n;
  return [first - 1n, last + 1n]
    .filter((v) => v >= 0n && v <= max)
    .map((v) => Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn)));
}

const ALL_BLOCKS = [GLOBAL_UNICAST, ...SPECIAL_INSIDE_GLOBAL, ...OUTSIDE_GLOBAL];

/** Addresses from everywhere, weighted towards the blocks and their edges. */
export const groupsArb: fc.Arbitrary<number[]> = fc.oneof(
  anyGroups,
  fc.constantFrom(...ALL_BLOCKS).chain(inside),
  fc.constantFrom(...ALL_BLOCKS.flatMap(justOutside)),
  inside(GLOBAL_UNICAST),
);

/** Addresses that every source may answer and that must be accepted. */
export const globalGroupsArb: fc.Arbitrary<number[]> = inside(GLOBAL_UNICAST).filter(isGlobalUnicast);

export interface AnswerCase {
  text: string;
  /** What the oracle says: a usable answer or not. */
  valid: boolean;
  groups?: Groups;
  prefixLength?: number;
}

const lengthArb = fc.option(
  fc.oneof(fc.integer({ min: -3, max: 200 }).map(String), fc.constantFrom('', 'x', '64/64', '0064', '6 4')),
  { nil: undefined },
);

/** An answer as a source might give it: an address, maybe "/length", maybe padded, or garbage. */
export const answerCaseArb: fc.Arbitrary<AnswerCase> = fc.oneof(
  fc
    .record({ groups: groupsArb, compressed: fc.boolean(), length: lengthArb, pad: fc.boolean() })
    .map(({ groups, compressed, length, pad }): AnswerCase => {
      const address = formatGroups(groups, compressed);
      const text = length === undefined ? address : `${address}/${length}`;
      const lengthOk = length === undefined || (/^\d{1,3}$/.test(length) && +length >= 1 && +length <= 128);
      return {
        text: pad ? ` ${text}\n` : text,
        valid: lengthOk && isGlobalUnicast(groups),
        groups,
        ...(length === undefined || !lengthOk ? {} : { prefixLength: Number(length) }),
      };
    }),
  // Text that cannot be an address: it holds a character no address has, or no colon at all.
  fc
    .oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json(), fc.ipV4())
    .filter((t) => /[^0-9a-fA-F:./\s]/.test(t) || !t.includes(':'))
    .map((text): AnswerCase => ({ text, valid: false })),
  fc
    .constantFrom(
      '<!DOCTYPE html><html></html>',
      '',
      '   ',
      '2a02:8071:1234:5678::1%eth0',
      '2a02:8071:1234:5678::1/64/64',
      '::ffff:192.0.2.1',
      '{"ip":"2a02::1"}',
      '2a02:8071:1234:5678::1 2a02:8071:1234:5678::2',
    )
    .map((text): AnswerCase => ({ text, valid: false })),
);
