// The router's prefix translation as metallb-dyn6 computes it: netmap keeps every bit past the
// prefix; RFC 6296 keeps the one's complement sum (so every transport checksum) and is undone by the
// reverse mapping. The word it adjusts, and the 0xFFFF case, as the Linux kernel's ip6t_NPT does; the
// kernel itself checks the same addresses in test/network/nptv6.test.ts.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import {
  publicAddress,
  translatePrefix,
  type PrefixMapping,
  type Translation,
} from '../../lib/prefix/nptv6.js';
import { networkOf } from '../../lib/prefix/ipv6.js';

const v6 = (text: string) => ipaddr.IPv6.parse(text);
const add = (a: number, b: number) => {
  const s = a + b;
  return (s & 0xffff) + (s >>> 16);
};
/** One's complement sum, with 0xFFFF and 0 the same number (as checksums treat them). */
const checksum = (address: ipaddr.IPv6) => address.parts.reduce(add, 0) % 0xffff;

const word = fc.integer({ min: 0, max: 0xffff });
const address = fc.array(word, { minLength: 8, maxLength: 8 }).map((parts) => new ipaddr.IPv6(parts));
const length = fc.constantFrom(48, 52, 56, 60, 64);
const mapping = fc
  .record({ inside: address, outside: address, length })
  .map(({ inside, outside, length: l }) => ({
    inside: networkOf(inside, l),
    outside: networkOf(outside, l),
    length: l,
  }));

describe('netmap', () => {
  it('swaps the prefix and keeps every other bit', () => {
    const mapping = { inside: v6('fd00:1234:5678::'), outside: v6('2a02:8071:1234:5600::'), length: 56 };
    expect(publicAddress(v6('fd00:1234:5678:ab::1005'), mapping, 'netmap')?.toString()).toBe(
      '2a02:8071:1234:56ab::1005',
    );
  });

  it('keeps the bits past the prefix and takes the outside prefix, for any address and length', () => {
    fc.assert(
      fc.property(mapping, address, (m, a) => {
        const inside = translatePrefix(a, v6('::'), m.inside, m.length, 'netmap');
        const out = inside === undefined ? undefined : publicAddress(inside, m, 'netmap');
        expect(out?.match(m.outside, m.length)).toBe(true);
        const host = (x: ipaddr.IPv6) =>
          translatePrefix(x, v6('::'), v6('::'), m.length, 'netmap')?.toString();
        expect(out === undefined ? undefined : host(out)).toBe(host(a));
      }),
    );
  });
});

/** `a` moved into the inside prefix, and its RFC 6296 translation (undefined: none exists). */
function translated(m: PrefixMapping, a: ipaddr.IPv6): { inside: ipaddr.IPv6; out: ipaddr.IPv6 } | undefined {
  const inside = translatePrefix(a, v6('::'), m.inside, m.length, 'netmap');
  const out = inside === undefined ? undefined : publicAddress(inside, m, 'rfc6296');
  return inside === undefined || out === undefined ? undefined : { inside, out };
}

describe('RFC 6296 (checksum-neutral)', () => {
  it("keeps the one's complement sum of every address it translates, and takes the outside prefix", () => {
    fc.assert(
      fc.property(mapping, address, (m, a) => {
        const pair = translated(m, a);
        if (pair === undefined) return;
        const { inside, out } = pair;
        expect(checksum(out)).toBe(checksum(inside));
        expect(out.match(m.outside, m.length)).toBe(true);
      }),
    );
  });

  it('is undone by the reverse mapping (what DNPT does to the reply path)', () => {
    fc.assert(
      fc.property(mapping, address, (m, a) => {
        const pair = translated(m, a);
        if (pair === undefined) return;
        const { inside, out } = pair;
        const back = translatePrefix(out, m.outside, m.inside, m.length, 'rfc6296');
        // 0 and 0xFFFF are one number to a checksum: an adjusted 0xFFFF comes back as 0.
        const norm = (x: ipaddr.IPv6 | undefined) => x?.parts.map((w) => (w === 0xffff ? 0 : w));
        expect(norm(back)).toEqual(norm(inside));
      }),
    );
  });

  it('adjusts the subnet word for a /48, so the public /64 differs from the inside subnet', () => {
    const mapping = { inside: v6('fd01:203:405::'), outside: v6('2001:db8:1::'), length: 48 };
    const out = publicAddress(v6('fd01:203:405:1::1005'), mapping, 'rfc6296');
    // RFC 6296 §3.3: the adjustment lands in bits 48-63, the interface identifier stays.
    expect(out?.parts.slice(0, 3)).toEqual([0x2001, 0xdb8, 0x1]);
    expect(out?.parts[3]).not.toBe(1);
    expect(out?.parts.slice(4)).toEqual([0, 0, 0, 0x1005]);
  });

  it('adjusts the first interface-identifier word for a /56 or /64, skipping 0xFFFF', () => {
    const mapping = { inside: v6('fd00:1234:5678:ab00::'), outside: v6('2a02:8071:1234:5600::'), length: 64 };
    const plain = publicAddress(v6('fd00:1234:5678:ab00::1005'), mapping, 'rfc6296');
    expect(plain?.parts.slice(0, 4)).toEqual([0x2a02, 0x8071, 0x1234, 0x5600]);
    expect(plain?.parts[4]).not.toBe(0);
    expect(plain?.parts.slice(5)).toEqual([0, 0, 0x1005]);
    const skipped = publicAddress(v6('fd00:1234:5678:ab00:ffff::1005'), mapping, 'rfc6296');
    expect(skipped?.parts[4]).toBe(0xffff);
    expect(skipped?.parts[5]).not.toBe(0);
  });

  it('cannot translate an address whose every interface-identifier word is 0xFFFF (the kernel drops it)', () => {
    const mapping = { inside: v6('fd00::'), outside: v6('2001:db8::'), length: 64 };
    expect(publicAddress(v6('fd00::ffff:ffff:ffff:ffff'), mapping, 'rfc6296')).toBeUndefined();
  });

  it('writes an adjusted word of 0xFFFF as 0 (RFC 6296 §3.5)', () => {
    // Pick the inside word so the adjusted one sums to 0xFFFF: word + adjustment = 0xFFFF.
    const mapping = { inside: v6('fd00::'), outside: v6('2001:db8::'), length: 64 };
    const probe = publicAddress(v6('fd00::1'), mapping, 'rfc6296');
    const adjustment = ((probe?.parts[4] ?? 0) - 0 + 0xffff) % 0xffff;
    const wanted = (0xffff - adjustment) % 0xffff;
    const out = publicAddress(new ipaddr.IPv6([0xfd00, 0, 0, 0, wanted, 0, 0, 1]), mapping, 'rfc6296');
    expect(out?.parts[4]).toBe(0);
  });

  it.each<[Translation]>([['netmap'], ['rfc6296']])(
    '%s maps a prefix onto itself to the same address',
    (t) => {
      const mapping = { inside: v6('2001:db8:1::'), outside: v6('2001:db8:1::'), length: 48 };
      expect(publicAddress(v6('2001:db8:1:2::3'), mapping, t)?.toString()).toBe('2001:db8:1:2::3');
    },
  );
});
