// One entry of an IPAddressPool's spec.addresses, as MetalLB reads it: a CIDR or "start-end".
import ipaddr from 'ipaddr.js';
import { toBigInt } from '../prefix/ipv6.js';
import { splitPair } from '../text/split-pair.js';

export interface PoolEntry {
  text: string;
  family: 'ipv4' | 'ipv6';
  form: 'cidr' | 'range';
  first: ipaddr.IPv4 | ipaddr.IPv6;
  last: ipaddr.IPv4 | ipaddr.IPv6;
}

function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const trimmed = text.trim();
  if (trimmed.includes('%')) return undefined;
  // A colon says IPv6. Trying IPv4 first would make ipaddr.js throw and catch an error for every
  // IPv6 entry, which cost a warm sync more than planning itself.
  if (trimmed.includes(':')) return ipaddr.IPv6.isValid(trimmed) ? ipaddr.IPv6.parse(trimmed) : undefined;
  return ipaddr.IPv4.isValidFourPartDecimal(trimmed) ? ipaddr.IPv4.parse(trimmed) : undefined;
}

/** Parses an entry the way MetalLB does (CIDR, or two addresses of one family joined by "-"); undefined if MetalLB would refuse it. */
export function parsePoolEntry(text: string): PoolEntry | undefined {
  const cidr = splitPair(text, '/');
  if (cidr !== undefined) {
    const [base, length] = cidr;
    const address = parseAddress(base);
    if (address === undefined || !/^\d+$/.test(length.trim())) return undefined;
    const bits = Number(length);
    if (bits > (address.kind() === 'ipv4' ? 32 : 128)) return undefined;
    const block = `${address.toString()}/${String(bits)}`;
    const [first, last] =
      address.kind() === 'ipv4'
        ? [ipaddr.IPv4.networkAddressFromCIDR(block), ipaddr.IPv4.broadcastAddressFromCIDR(block)]
        : [ipaddr.IPv6.networkAddressFromCIDR(block), ipaddr.IPv6.broadcastAddressFromCIDR(block)];
    return { text, family: address.kind(), form: 'cidr', first, last };
  }
  if (text.includes('/')) return undefined;
  const range = splitPair(text, '-');
  if (range === undefined) return undefined;
  const first = parseAddress(range[0]);
  const last = parseAddress(range[1]);
  if (first === undefined || last === undefined || first.kind() !== last.kind()) return undefined;
  if (toBigInt(first) > toBigInt(last)) return undefined;
  return { text, family: first.kind(), form: 'range', first, last };
}

export function overlaps(a: PoolEntry, b: PoolEntry): boolean {
  if (a.family !== b.family) return false;
  return toBigInt(a.first) <= toBigInt(b.last) && toBigInt(b.first) <= toBigInt(a.last);
}
