// Which run does the work a burst of runs would otherwise each do: restart MetalLB, or move the
// Services. The claim travels in the pool's own annotations, in the same patch as the work it
// covers, so runs in different processes (CronJob, functions, pushes) agree through the apiserver's
// resourceVersion alone. A claim lapses at `until`: a killed run's work is taken up by the first run
// that finds it expired, and costs that run one more patch.
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

/** The last restart paid, when it began at or after `since` (a run's start): a forced run finds its wish granted by it. */
export function paidSince(restart: Restart | undefined, since: Date): Restart | undefined {
  return restart !== undefined && Date.parse(restart.at) >= since.getTime() ? restart : undefined;
}
