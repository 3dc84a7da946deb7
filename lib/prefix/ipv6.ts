// IPv6 helpers over ipaddr.js: parsing, masking and bitwise combination of whole addresses.
import ipaddr from 'ipaddr.js';

export type IPv6 = ipaddr.IPv6;

export function parseIPv6(text: string): IPv6 | undefined {
  // ipaddr.js accepts zone ids (fe80::1%eth0); a pool entry or a prefix never has one. Text without a
  // colon (IPv4, a name) is turned away before ipaddr.js throws for it: planning reads thousands.
  if (!text.includes(':') || text.includes('%')) return undefined;
  // One parse (isValid then parse would read it twice); it throws only for garbage.
  try {
    return ipaddr.IPv6.parse(text);
  } catch {
    return undefined;
  }
}

/** The first `length` bits of `address`, the rest zero. */
export function networkOf(address: IPv6, length: number): IPv6 {
  return ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${String(length)}`);
}

/** The bits after the first `length`, the first `length` zero. */
export function hostBitsOf(address: IPv6, length: number): IPv6 {
  const mask = ipaddr.IPv6.subnetMaskFromPrefixLength(length).toByteArray();
  return fromBytes(address.toByteArray().map((b, i) => b & ~(mask[i] ?? 0) & 0xff));
}

export function or(a: IPv6, b: IPv6): IPv6 {
  const bb = b.toByteArray();
  return fromBytes(a.toByteArray().map((byte, i) => byte | (bb[i] ?? 0)));
}

export function isZero(address: IPv6): boolean {
  return address.toByteArray().every((b) => b === 0);
}

export function equal(a: IPv6, b: IPv6): boolean {
  return a.toNormalizedString() === b.toNormalizedString();
}

/** An address (either family) as an unsigned integer, for ordering and overlap checks. */
export function toBigInt(address: { toByteArray(): number[] }): bigint {
  return address.toByteArray().reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

/** The last address of the CIDR block `address/length`. */
export function lastOf(address: IPv6, length: number): IPv6 {
  return ipaddr.IPv6.broadcastAddressFromCIDR(`${address.toString()}/${String(length)}`);
}

function fromBytes(bytes: number[]): IPv6 {
  return ipaddr.fromByteArray(bytes) as IPv6;
}

const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Why an address cannot be a delegated global prefix, or undefined when it can. Only 2000::/3 that
 * ipaddr.js classes as plain unicast qualifies: IPv4-mapped, ULA, link-local, loopback, multicast,
 * documentation, 6to4, Teredo and the other special-purpose ranges are refused by name.
 */
export function notGlobalUnicast(address: IPv6): string | undefined {
  const range = address.range();
  if (range !== 'unicast') return SPECIAL_RANGE_NAMES[range] ?? `special-purpose range (${range})`;
  if (!address.match(GLOBAL_UNICAST)) return 'outside the global unicast range 2000::/3';
  return undefined;
}

const SPECIAL_RANGE_NAMES: Record<string, string> = {
  unspecified: 'the unspecified address',
  loopback: 'loopback',
  linkLocal: 'link-local (fe80::/10)',
  multicast: 'multicast (ff00::/8)',
  uniqueLocal: 'unique local (ULA, fc00::/7)',
  ipv4Mapped: 'IPv4-mapped (::ffff:0:0/96)',
  rfc6145: 'IPv4-translated (RFC 6145)',
  rfc6052: 'NAT64 (64:ff9b::/96)',
  '6to4': '6to4 (2002::/16)',
  teredo: 'Teredo (2001::/32)',
  reserved: 'documentation or IETF-reserved (e.g. 2001:db8::/32)',
  benchmarking: 'benchmarking (2001:2::/48)',
  deprecatedSiteLocal: 'deprecated site-local (fec0::/10)',
  discard: 'discard-only (100::/64)',
};
