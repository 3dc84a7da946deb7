// A host or a cluster in the middle of a renumbering has addresses in several prefixes. Grouped per
// prefix, lowest first, the same addresses always give the same answer and the same alternatives.
import { networkOf, toBigInt, type IPv6 } from '../prefix/ipv6.js';

export interface PrefixGroup<T> {
  /** The prefix, e.g. 2a02:8071:1234:5600::/64. */
  prefix: string;
  /** The items in it, in the order given. */
  members: T[];
}

export function groupByPrefix<T>(
  items: readonly T[],
  addressOf: (item: T) => IPv6,
  length: number,
): PrefixGroup<T>[] {
  const groups = new Map<string, { network: bigint; members: T[] }>();
  for (const item of items) {
    const network = networkOf(addressOf(item), length);
    const prefix = `${network.toString()}/${String(length)}`;
    const group = groups.get(prefix) ?? { network: toBigInt(network), members: [] };
    group.members.push(item);
    groups.set(prefix, group);
  }
  return [...groups]
    .sort(([, a], [, b]) => (a.network < b.network ? -1 : 1))
    .map(([prefix, { members }]) => ({ prefix, members }));
}
