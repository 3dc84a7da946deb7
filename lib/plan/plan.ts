// The pure diff between the pool as it is and as metallb-dyn6 wants it (external-dns's plan/).
import { fail, ok, type Result } from '../errors/result.js';
import type { HostRange } from '../prefix/host-range.js';
import { overlaps, parsePoolEntry, type PoolEntry } from './pool-entry.js';
import { looksOwned, type OwnershipRecord } from './registry.js';

export interface PlanInput {
  /** spec.addresses as read from the pool. */
  current: readonly string[];
  ownership: OwnershipRecord;
  /** The entries this tool wants in the pool (see desiredEntries). */
  desired: readonly string[];
  /** The configured host ranges, to recognise our entries when there is no record. */
  hosts: readonly HostRange[];
}

export interface Plan {
  /** The complete new spec.addresses. */
  addresses: string[];
  /** What to record as ours: exactly the desired entries. */
  owned: string[];
  /** The entries that were ours before this plan. */
  previouslyOwned: string[];
  removed: string[];
  added: string[];
  addressesChanged: boolean;
  /** The ownership record must be written even if the addresses are right (first run, migration). */
  recordChanged: boolean;
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function isOwned(text: string, parsed: PoolEntry | undefined, input: PlanInput): boolean {
  if (input.ownership.kind === 'recorded') return input.ownership.entries.includes(text);
  return parsed !== undefined && looksOwned(parsed, input.hosts);
}

/**
 * Replaces the entries we own by the desired ones, at the place the first of ours stood (or at the
 * end), leaving every other entry as it is, byte for byte and in order.
 */
export function planPool(input: PlanInput): Result<Plan> {
  const entries = input.current.map((text) => ({ text, parsed: parsePoolEntry(text) }));
  const ownedNow = entries.filter((e) => isOwned(e.text, e.parsed, input));
  const others = entries.filter((e) => !ownedNow.includes(e));

  for (const wanted of input.desired) {
    const parsed = parsePoolEntry(wanted);
    if (parsed === undefined) return fail(`internal: desired entry "${wanted}" is not a valid pool entry`);
    const clash = others.find((o) => o.parsed !== undefined && overlaps(o.parsed, parsed));
    if (clash !== undefined) {
      return fail(
        `desired range ${wanted} overlaps pool entry "${clash.text}", which metallb-dyn6 does not own; remove that entry or change the host range`,
      );
    }
  }

  // Everything before the first of ours is someone else's, so its index is where ours go.
  const firstOwned = entries.findIndex((e) => ownedNow.includes(e));
  const insertAt = firstOwned === -1 ? others.length : firstOwned;
  const rest = others.map((e) => e.text);
  const addresses = [...rest.slice(0, insertAt), ...input.desired, ...rest.slice(insertAt)];
  const ownedTexts = ownedNow.map((e) => e.text);

  return ok({
    addresses,
    owned: [...input.desired],
    previouslyOwned: ownedTexts,
    removed: ownedTexts.filter((t) => !input.desired.includes(t)),
    added: input.desired.filter((t) => !ownedTexts.includes(t)),
    addressesChanged: !sameList(addresses, input.current),
    recordChanged: input.ownership.kind !== 'recorded' || !sameList(input.ownership.entries, input.desired),
  });
}
