// What metallb-dyn6 records on the pool it manages, in the pool's own annotations (external-dns's
// TXT registry, as annotations): the entries it owns, the prefixes the pool has been on, the restart
// MetalLB still owes, the last restart paid, the run that wrote last, and a Services move under way.
// The tool keeps no state anywhere else. This module is the one that knows the annotations' names
// and formats: the store reads the whole record with the pool and writes it through the patches
// built here, in the same patch as the addresses, so the record and the addresses never disagree.
import { fail, ok, type Result } from '../errors/result.js';
import { quotedExcerpt } from '../text/excerpt.js';
import type { Claim, ReloadDebt, Restart, ServicesMoving } from './claims.js';
import { checkOwnedEntries, type OwnershipRecord } from './registry.js';
import { remember } from './prefix-history.js';

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
/** What a rollback puts back as it was: the whole record a write of the addresses replaces. */
const WRITTEN_WITH_ADDRESSES = [
  OWNED_ANNOTATION,
  LAST_PREFIX_ANNOTATION,
  LAST_SYNC_ANNOTATION,
  RELOAD_OWED_ANNOTATION,
  PREFIX_HISTORY_ANNOTATION,
  WRITTEN_BY_ANNOTATION,
  SERVICES_MOVING_ANNOTATION,
] as const;

type Annotations = Readonly<Record<string, string>> | undefined;
/** Annotations to merge-patch onto the pool: null removes one. */
export type RecordPatch = Record<string, string | null>;

/**
 * The record as read. A part someone broke is a failure, never "nothing recorded": nothing may be
 * planned from it. The owed restart and the last restart are read leniently instead (see claims.ts).
 */
export interface PoolRecord {
  ownership: Result<OwnershipRecord>;
  /** The prefixes the pool has been on, oldest first, its current one last. */
  history: Result<string[]>;
  reload: ReloadDebt;
  lastRestart: Restart | undefined;
  moving: Result<ServicesMoving | undefined>;
  writtenBy: string | undefined;
}

export function readPoolRecord(annotations: Annotations): PoolRecord {
  return {
    ownership: readOwnership(annotations),
    history: readPrefixHistory(annotations),
    reload: readReloadDebt(annotations?.[RELOAD_OWED_ANNOTATION]),
    lastRestart: readRestart(annotations?.[LAST_RESTART_ANNOTATION]),
    moving: readServicesMoving(annotations?.[SERVICES_MOVING_ANNOTATION]),
    writtenBy: annotations?.[WRITTEN_BY_ANNOTATION],
  };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** A JSON list of strings, or the error naming the annotation and what it must list. */
function readStringList(raw: string, annotation: string, what: string): Result<string[]> {
  const value = parseJson(raw);
  if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) return ok(value);
  return fail(
    `annotation ${annotation} must be a JSON list of ${what}, got ${quotedExcerpt(raw)}; fix or remove it`,
  );
}

/** Reads the ownership record; a record that is there but unreadable is an error, never "none". */
export function readOwnership(annotations: Annotations): Result<OwnershipRecord> {
  const raw = annotations?.[OWNED_ANNOTATION];
  if (raw === undefined) return ok({ kind: 'none' });
  const entries = readStringList(raw, OWNED_ANNOTATION, 'the pool entries metallb-dyn6 wrote');
  if (!entries.ok) return entries;
  const foreign = checkOwnedEntries(entries.value);
  if (foreign === undefined) return ok({ kind: 'recorded', entries: entries.value });
  return fail(
    `annotation ${OWNED_ANNOTATION} names ${quotedExcerpt(foreign)}, which metallb-dyn6 cannot have written (it writes only global IPv6 ranges inside one /64); fix or remove the annotation`,
  );
}

/**
 * The history as recorded, with the pool's current prefix last (a pool written before the history
 * existed has only that). A history someone broke is an error, never "nothing seen".
 */
export function readPrefixHistory(annotations: Annotations): Result<string[]> {
  const raw = annotations?.[PREFIX_HISTORY_ANNOTATION];
  const recorded = raw === undefined ? ok([]) : readStringList(raw, PREFIX_HISTORY_ANNOTATION, 'prefixes');
  const current = annotations?.[LAST_PREFIX_ANNOTATION];
  if (!recorded.ok || current === undefined) return recorded;
  return ok(remember(recorded.value, current));
}

function parseClaim(value: unknown): Claim | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { run, until, since } = value as Record<string, unknown>;
  if (typeof run !== 'string' || typeof until !== 'string' || Number.isNaN(Date.parse(until)))
    return undefined;
  return { run, until, ...(typeof since === 'string' ? { since } : {}) };
}

/**
 * The owed restart as the pool records it. Any value that is not a claim (the timestamp earlier
 * releases wrote, or someone's edit) is a debt open to the next run: a restart too many is cheap,
 * one too few leaves Services dead.
 */
export function readReloadDebt(raw: string | undefined): ReloadDebt {
  if (raw === undefined) return { owed: false };
  const claim = parseClaim(parseJson(raw));
  return claim === undefined ? { owed: true } : { owed: true, claim };
}

/** The last restart paid; anything unreadable is no restart (it only saves a forced run one). */
export function readRestart(raw: string | undefined): Restart | undefined {
  const value = raw === undefined ? undefined : parseJson(raw);
  if (typeof value !== 'object' || value === null) return undefined;
  const { run, at } = value as Record<string, unknown>;
  return typeof run === 'string' && typeof at === 'string' ? { run, at } : undefined;
}

/** The record of a Services move; one someone broke is an error, never "no move under way". */
export function readServicesMoving(raw: string | undefined): Result<ServicesMoving | undefined> {
  if (raw === undefined) return ok(undefined);
  const value = parseJson(raw);
  const claim = parseClaim(value);
  const to = (value as { to?: unknown } | undefined)?.to;
  if (claim === undefined || typeof to !== 'string')
    return fail(
      `annotation ${SERVICES_MOVING_ANNOTATION} must be a JSON object {"to", "run", "until"}, got ${quotedExcerpt(raw)}; fix or remove it`,
    );
  return ok({ ...claim, to });
}

/** The owed-restart mark's value: a claim, the time an unclaimed debt arose, or none. */
function reloadOwedValue(debt: ReloadDebt, now: Date): string | null {
  if (!debt.owed) return null;
  return debt.claim === undefined ? now.toISOString() : JSON.stringify(debt.claim);
}

/** What one write of the addresses records beside them. */
export interface WriteRecord {
  owned: readonly string[];
  prefix: string;
  now: Date;
  /** The restart MetalLB needs to take the addresses; 'kept': the write leaves the mark as it is. */
  reload: ReloadDebt | 'kept';
  /** The prefixes the pool has been on before this write, oldest first. */
  history: readonly string[];
  /** The writing run's id. */
  run: string;
}

/**
 * The record written together with the addresses: what is ours, for which prefix, when, by which
 * run, whether MetalLB still has to be restarted to take them, and the prefixes the pool has been
 * on. The Services' move, if one was recorded, is complete with it.
 */
export function addressesRecord(record: WriteRecord): RecordPatch {
  return {
    [OWNED_ANNOTATION]: JSON.stringify(record.owned),
    [PREFIX_HISTORY_ANNOTATION]: JSON.stringify(remember(record.history, record.prefix)),
    [LAST_PREFIX_ANNOTATION]: record.prefix,
    [LAST_SYNC_ANNOTATION]: record.now.toISOString(),
    ...(record.reload === 'kept'
      ? {}
      : { [RELOAD_OWED_ANNOTATION]: reloadOwedValue(record.reload, record.now) }),
    [WRITTEN_BY_ANNOTATION]: record.run,
    [SERVICES_MOVING_ANNOTATION]: null,
  };
}

/**
 * The record as it was in `previous` (null removes an annotation it did not have), owing the
 * restart `reload` that the pool put back needs.
 */
export function previousRecord(previous: Annotations, reload: ReloadDebt, now: Date): RecordPatch {
  return {
    ...Object.fromEntries(WRITTEN_WITH_ADDRESSES.map((k) => [k, previous?.[k] ?? null])),
    [RELOAD_OWED_ANNOTATION]: reloadOwedValue(reload, now),
  };
}

/** A Services move begun (or, null, a lapsed one dealt with). */
export const movingRecord = (moving: ServicesMoving | null): RecordPatch => ({
  [SERVICES_MOVING_ANNOTATION]: moving === null ? null : JSON.stringify(moving),
});

/** The restart the pool owes, claimed by a run or open to the next one. */
export const reloadOwedRecord = (debt: ReloadDebt, now: Date): RecordPatch => ({
  [RELOAD_OWED_ANNOTATION]: reloadOwedValue(debt, now),
});

/** The owed restart paid: the mark cleared, and the restart remembered for forced runs. */
export const restartPaidRecord = (paid: Restart): RecordPatch => ({
  [RELOAD_OWED_ANNOTATION]: null,
  [LAST_RESTART_ANNOTATION]: JSON.stringify(paid),
});
