// Which of several prefixes in use the network uses now. A router that stops announcing the old
// prefix without deprecating it leaves the old addresses "preferred" for hours beside the new ones;
// the kernel cannot tell them apart, so the pool keeps the prefixes it was moved to, in order, and
// a prefix that appears beside them is the new one. State stays in the pool, like the ownership record.
import { fail, ok, type Result } from '../errors/result.js';

/** Enough to recognise a prefix coming back after a few renumberings; the record stays small. */
export const HISTORY_LENGTH = 8;

/** The history with `prefix` as the latest (moved to the end if it was there), capped. */
export function remember(history: readonly string[], prefix: string): string[] {
  return [...history.filter((p) => p !== prefix), prefix].slice(-HISTORY_LENGTH);
}

/**
 * Among the prefixes in use (each a /64 as the pool would hold it), the one the network uses now:
 * the only one, or the only one never seen before (a new delegation beside the old), or, when all
 * were seen, the one the pool moved to last — an older one is never taken back while it lingers.
 * More than one unseen: nothing says which is current, so nothing is chosen.
 */
export function choosePrefix<T>(
  inUse: readonly T[],
  history: readonly string[],
  prefixOf: (candidate: T) => string,
): Result<T> {
  const byPrefix = new Map(inUse.map((c) => [prefixOf(c), c]));
  const distinct = [...byPrefix.keys()];
  const unseen = distinct.filter((p) => !history.includes(p));
  // One prefix in use is either new (the only unseen) or seen (then the latest seen): no third case.
  const chosen =
    unseen.length === 1
      ? unseen[0]
      : unseen.length === 0
        ? [...history].reverse().find((p) => byPrefix.has(p))
        : undefined;
  const candidate = byPrefix.get(chosen ?? '');
  if (candidate !== undefined) return ok(candidate);
  return fail(
    `several prefixes are in use (${distinct.join(', ')}), ${String(unseen.length)} of them new to this pool` +
      `${history.length === 0 ? '' : ` (it has been on ${history.join(', ')})`}: cannot tell which one the network uses now; ` +
      'nothing was changed. Deprecate the old prefix on the router (preferred lifetime 0), or narrow the source (interface name, node label selector, within(...))',
  );
}
