// Which pool entries belong to metallb-dyn6: the ones its record names (see pool-record.ts), or,
// before there is a record, the ones that look like what it writes.
import type { HostRange } from '../prefix/host-range.js';
import { SUBNET_LENGTH } from '../prefix/host-range.js';
import { equal, hostBitsOf, lastOf, networkOf, notGlobalUnicast, type IPv6 } from '../prefix/ipv6.js';
import { parsePoolEntry, type PoolEntry } from './pool-entry.js';

export type OwnershipRecord = { kind: 'recorded'; entries: string[] } | { kind: 'none' };

/**
 * The first recorded entry this tool cannot have written, if any. A record copied with a manifest
 * or edited by hand could name the pool's IPv4 or ULA entries, and the plan would replace them.
 * Whatever the host ranges were when it was written, this tool only ever writes global IPv6 ranges
 * inside one /64.
 */
export function checkOwnedEntries(entries: readonly string[]): string | undefined {
  return entries.find((entry) => !writableByUs(parsePoolEntry(entry)));
}

function writableByUs(entry: PoolEntry | undefined): boolean {
  if (entry?.family !== 'ipv6') return false;
  const first = entry.first as IPv6;
  return (
    notGlobalUnicast(first) === undefined &&
    equal(networkOf(first, SUBNET_LENGTH), networkOf(entry.last as IPv6, SUBNET_LENGTH))
  );
}

/**
 * Without a record (first run, or a pool the Rust tool managed) an entry is ours when it is a
 * global-unicast IPv6 range in a single /64 whose host part is exactly a configured host range.
 */
export function looksOwned(entry: PoolEntry, hosts: readonly HostRange[]): boolean {
  if (!writableByUs(entry)) return false;
  const first = entry.first as IPv6;
  const last = entry.last as IPv6;
  return hosts.some((h) => {
    if (h.kind === 'cidr') {
      return (
        entry.form === 'cidr' &&
        equal(hostBitsOf(first, SUBNET_LENGTH), h.first) &&
        equal(hostBitsOf(last, SUBNET_LENGTH), lastOf(h.first, h.length))
      );
    }
    return (
      entry.form === 'range' &&
      equal(hostBitsOf(first, SUBNET_LENGTH), h.first) &&
      equal(hostBitsOf(last, SUBNET_LENGTH), h.last)
    );
  });
}
