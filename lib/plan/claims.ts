// Which run does the work a burst of runs would otherwise each do: restart MetalLB, or move the
// Services. The claim travels in the pool's own annotations, in the same patch as the work it
// covers, so runs in different processes (CronJob, functions, pushes) agree through the apiserver's
// resourceVersion alone. A claim lapses at `until`: a killed run's work is taken up by the first run
// that finds it expired, and costs that run one more patch.
import { fail, ok, type Result } from '../errors/result.js';
import { quotedExcerpt } from '../text/excerpt.js';

export interface Claim {
  /** The run that holds it (a random id per run). */
  run: string;
  /** When another run may take it over: ISO 8601. */
  until: string;
  /** When it was made (claims from before this field have none). */
  since?: string;
}

/**
 * A restart of MetalLB the pool still owes: open to any run (an earlier format of the mark, or a run
 * that could not see MetalLB's pods), or claimed by one run until a time.
 */
export type ReloadDebt = { owed: false } | { owed: true; claim?: Claim };

/** The Services are being moved to `to` (a /64) by `run`; recorded before the first Service patch. */
export interface ServicesMoving extends Claim {
  to: string;
}

/** A restart of MetalLB that was paid: by which run, begun when (ISO 8601). */
export interface Restart {
  run: string;
  at: string;
}

/** Whose a claim is, seen from `run` at `now`: its own, another run's still in force, or nobody's. */
export type Holder = 'ours' | 'other' | 'free';

export function holderOf(claim: Claim | undefined, run: string, now: Date): Holder {
  if (claim === undefined) return 'free';
  if (claim.run === run) return 'ours';
  return Date.parse(claim.until) > now.getTime() ? 'other' : 'free';
}

/** A claim for `run` that lapses `holdMs` after `now`. */
export function claimFor(run: string, now: Date, holdMs: number): Claim {
  return { run, until: new Date(now.getTime() + holdMs).toISOString(), since: now.toISOString() };
}

function parseClaim(value: unknown): Claim | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { run, until, since } = value as Record<string, unknown>;
  if (typeof run !== 'string' || typeof until !== 'string' || Number.isNaN(Date.parse(until)))
    return undefined;
  return { run, until, ...(typeof since === 'string' ? { since } : {}) };
}

/**
 * The last restart paid, when it began after `since` (a run's start): a forced run finds its wish
 * granted by it. Anything unreadable is no restart.
 */
export function restartSince(raw: string | undefined, since: Date): Restart | undefined {
  const value = raw === undefined ? undefined : parseJson(raw);
  if (typeof value !== 'object' || value === null) return undefined;
  const { run, at } = value as Record<string, unknown>;
  if (typeof run !== 'string' || typeof at !== 'string') return undefined;
  return Date.parse(at) >= since.getTime() ? { run, at } : undefined;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
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

/** The mark's value: a claim, or (no run can pay it now) the time the debt arose. */
export function reloadMark(claim: Claim | undefined, now: Date): string {
  return claim === undefined ? now.toISOString() : JSON.stringify(claim);
}

/** The record of a Services move; one someone broke is an error, never "no move under way". */
export function readServicesMoving(
  raw: string | undefined,
  annotation: string,
): Result<ServicesMoving | undefined> {
  if (raw === undefined) return ok(undefined);
  const value = parseJson(raw);
  const claim = parseClaim(value);
  const to = (value as { to?: unknown } | undefined)?.to;
  if (claim === undefined || typeof to !== 'string')
    return fail(
      `annotation ${annotation} must be a JSON object {"to", "run", "until"}, got ${quotedExcerpt(raw)}; fix or remove it`,
    );
  return ok({ ...claim, to });
}

export function servicesMovingText(moving: ServicesMoving): string {
  return JSON.stringify(moving);
}
