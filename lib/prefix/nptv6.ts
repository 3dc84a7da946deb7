// How a home router's prefix translation (NPTv6) maps an inside address to the outside one, so the
// address a Service is reached at from the internet can be published. Two translations exist:
// - netmap (nftables `snat/dnat ip6 prefix to`, ip6tables NETMAP, pf binat): the prefix is swapped,
//   every other bit stays;
// - RFC 6296 (ip6tables SNPT/DNPT): checksum-neutral — after the swap one 16-bit word is adjusted so
//   that the one's complement sum of the address, hence every transport checksum, is unchanged.
//   Which word, and the 0xFFFF case, follow the Linux kernel (net/ipv6/netfilter/ip6t_NPT.c): for a
//   prefix of at most 48 bits the subnet word (bits 48-63); for a longer one the first word of the
//   interface identifier that is not 0xFFFF (none: the address is not translated); a result of 0xFFFF
//   is written as 0 (RFC 6296 §3.5: the two zeros of one's complement are one).
import ipaddr from 'ipaddr.js';
import { networkOf, type IPv6 } from './ipv6.js';

export const TRANSLATIONS = ['netmap', 'rfc6296'] as const;
export type Translation = (typeof TRANSLATIONS)[number];

/** The router's two prefixes: the inside one (the ULA the pool lives in) and the outside one (the ISP's). */
export interface PrefixMapping {
  inside: IPv6;
  outside: IPv6;
  /** Both prefixes have this length (≤ 64): NPTv6 maps a prefix to one of the same length. */
  length: number;
}

/** Adds two 16-bit words in one's complement (end-around carry). */
const add = (a: number, b: number): number => {
  const sum = a + b;
  return (sum & 0xffff) + (sum >>> 16);
};

/** The one's complement sum of an address's words. */
const sumOf = (words: readonly number[]): number => words.reduce(add, 0);

/** The words of `address` with its first `length` bits replaced by those of `prefix`. */
function withPrefix(address: IPv6, prefix: IPv6, length: number): number[] {
  return address.parts.map((word, i) => {
    const bitsInPrefix = Math.max(0, Math.min(16, length - 16 * i));
    const mask = bitsInPrefix === 0 ? 0 : (0xffff << (16 - bitsInPrefix)) & 0xffff;
    return (word & ~mask & 0xffff) | ((prefix.parts[i] ?? 0) & mask);
  });
}

/** The index of the word RFC 6296 adjusts, as the kernel picks it; undefined when there is none. */
function adjustedWord(words: readonly number[], length: number): number | undefined {
  if (length <= 48) return 3;
  const index = words.findIndex((word, i) => i >= 4 && word !== 0xffff);
  return index < 0 ? undefined : index;
}

/**
 * `address` as it leaves the router towards `to` (translated from the prefix `from`): the outside
 * address for inside → outside, and back for outside → inside. Undefined when RFC 6296 cannot
 * translate it (every word it could adjust is 0xFFFF), as the kernel then drops the packet.
 */
export function translatePrefix(
  address: IPv6,
  from: IPv6,
  to: IPv6,
  length: number,
  translation: Translation,
): IPv6 | undefined {
  const words = withPrefix(address, to, length);
  if (translation === 'rfc6296') {
    const index = adjustedWord(words, length);
    if (index === undefined) return undefined;
    // What the words of `from` added to the sum, less what those of `to` add now.
    const adjustment = add(
      sumOf(networkOf(from, length).parts),
      ~sumOf(networkOf(to, length).parts) & 0xffff,
    );
    const adjusted = add(words[index] ?? 0, adjustment);
    words[index] = adjusted === 0xffff ? 0 : adjusted;
  }
  return new ipaddr.IPv6(words);
}

/** The address an inside address is reached at from outside, as the router translates it. */
export function publicAddress(
  inside: IPv6,
  mapping: PrefixMapping,
  translation: Translation,
): IPv6 | undefined {
  return translatePrefix(inside, mapping.inside, mapping.outside, mapping.length, translation);
}

/** Whether `address` is in the first `length` bits of `prefix`. */
export function inPrefix(address: IPv6, prefix: IPv6, length: number): boolean {
  return address.match(prefix, length);
}
