// Which pool entries belong to metallb-dyn6: recorded in an annotation on the pool itself, so the
// tool keeps no state anywhere else (external-dns's TXT registry, as an annotation).
import { fail, ok, type Result } from '../errors/result.js';
import type { HostRange } from '../prefix/host-range.js';
import { SUBNET_LENGTH } from '../prefix/host-range.js';
import { equal, hostBitsOf, lastOf, networkOf, notGlobalUnicast, type IPv6 } from '../prefix/ipv6.js';
import { parsePoolEntry, type PoolEntry } from './pool-entry.js';
import { quotedExcerpt } from '../text/excerpt.js';

export const ANNOTATION_PREFIX = 'metallb-dyn6';
export const OWNED_ANNOTATION = `${ANNOTATION_PREFIX}/owned-addresses`;
export const LAST_PREFIX_ANNOTATION = `${ANNOTATION_PREFIX}/last-prefix`;
export const LAST_SYNC_ANNOTATION = `${ANNOTATION_PREFIX}/last-sync`;
/** The /64s the pool was moved to, oldest first, as a JSON list (see prefix-history.ts). */
export const PREFIX_HISTORY_ANNOTATION = `${ANNOTATION_PREFIX}/prefix-history`;
/**
 * Set in the same patch as addresses MetalLB must be restarted to take, cleared once it took them:
 * a run that dies (or loses an answer) in between leaves the debt where the next run finds it.
 */
export const RELOAD_OWED_ANNOTATION = `${ANNOTATION_PREFIX}/reload-owed`;
/**
 * The last restart of MetalLB a run paid, and when it began: runs forced at the same moment find
 * it and do not restart MetalLB once more (see claims.ts).
 */
export const LAST_RESTART_ANNOTATION = `${ANNOTATION_PREFIX}/last-restart`;
/** The run that wrote the addresses last: a run whose answer was lost finds its own write by it. */
export const WRITTEN_BY_ANNOTATION = `${ANNOTATION_PREFIX}/written-by`;
/**
 * Set before the first Service is re-pinned, cleared by the pool write that follows (see claims.ts):
 * a run that dies in between leaves the prefix the Services were moved to where the next run finds it.
 */
export const SERVICES_MOVING_ANNOTATION = `${ANNOTATION_PREFIX}/services-moving`;
const MANAGED_ANNOTATIONS = [
  OWNED_ANNOTATION,
  LAST_PREFIX_ANNOTATION,
  LAST_SYNC_ANNOTATION,
  RELOAD_OWED_ANNOTATION,
  PREFIX_HISTORY_ANNOTATION,
  WRITTEN_BY_ANNOTATION,
  SERVICES_MOVING_ANNOTATION,
] as const;

export type OwnershipRecord = { kind: 'recorded'; entries: string[] } | { kind: 'none' };

/** Reads the ownership record; a record that is there but unreadable is an error, never "none". */
export function readOwnership(
  annotations: Readonly<Record<string, string>> | undefined,
): Result<OwnershipRecord> {
  const raw = annotations?.[OWNED_ANNOTATION];
  if (raw === undefined) return ok({ kind: 'none' });
  let value: unknown;
  try {
    value = JSON.parse(raw);
    // Stryker disable next-line BlockStatement: value is still undefined when JSON.parse throws
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    return fail(
      `annotation ${OWNED_ANNOTATION} must be a JSON list of the pool entries metallb-dyn6 wrote, got ${quotedExcerpt(raw)}; fix or remove it`,
    );
  }
  // A record copied with a manifest or edited by hand could name the pool's IPv4 or ULA entries,
  // and the plan would replace them. Whatever the host ranges were when it was written, this tool
  // only ever writes global IPv6 ranges inside one /64.
  const foreign = value.find((entry) => !writableByUs(parsePoolEntry(entry)));
  if (foreign !== undefined) {
    return fail(
      `annotation ${OWNED_ANNOTATION} names ${quotedExcerpt(foreign)}, which metallb-dyn6 cannot have written (it writes only global IPv6 ranges inside one /64); fix or remove the annotation`,
    );
  }
  return ok({ kind: 'recorded', entries: value });
}

function writableByUs(entry: PoolEntry | undefined): boolean {
  if (entry?.family !== 'ipv6') return false;
  const first = entry.first as IPv6;
  return (
    notGlobalUnicast(first) === undefined &&
    equal(networkOf(first, SUBNET_LENGTH), networkOf(entry.last as IPv6, SUBNET_LENGTH))
  );
}

/** What one write of the addresses records beside them. */
export interface WriteRecord {
  owned: readonly string[];
  prefix: string;
  now: Date;
  /** The restart MetalLB still needs (see claims.ts reloadMark), or null when it needs none. */
  reloadMark: string | null;
  /** The prefixes the pool has been on, oldest first. */
  history: readonly string[];
  /** The writing run's id. */
  run: string;
}

/**
 * The record written together with the addresses: what is ours, for which prefix, when, by which
 * run, whether MetalLB still has to be restarted to take them (null removes the mark), and the
 * prefixes the pool has been on. The Services' move, if one was recorded, is complete with it.
 */
export function recordAnnotations(record: WriteRecord): Record<string, string | null> {
  return {
    [OWNED_ANNOTATION]: JSON.stringify(record.owned),
    [PREFIX_HISTORY_ANNOTATION]: JSON.stringify(record.history),
    [LAST_PREFIX_ANNOTATION]: record.prefix,
    [LAST_SYNC_ANNOTATION]: record.now.toISOString(),
    [RELOAD_OWED_ANNOTATION]: record.reloadMark,
    [WRITTEN_BY_ANNOTATION]: record.run,
    [SERVICES_MOVING_ANNOTATION]: null,
  };
}

/** The record as it was in `previous` (null removes an annotation it did not have). */
export function previousRecord(
  previous: Readonly<Record<string, string>> | undefined,
): Record<string, string | null> {
  return Object.fromEntries(MANAGED_ANNOTATIONS.map((k) => [k, previous?.[k] ?? null]));
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
