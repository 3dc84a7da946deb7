// What every step of one sync run shares: the run's identity and settings, what it wants the pool
// to hold, the shape of a step's failure, and how the run tells what it did (Events, report).
import type { ReloadStrategy } from '../config/choices.js';
import { errorText } from '../errors/error-text.js';
import { fail, ok, type Result } from '../errors/result.js';
import type { Logger } from '../log/logger.js';
import { claimFor, type Claim } from '../plan/claims.js';
import type { HostRange } from '../prefix/host-range.js';
import type { IPv6 } from '../prefix/ipv6.js';
import type { PrefixPolicy } from '../prefix/subnet.js';
import type { PoolStore } from '../cluster/pool-store.js';
import { isConflict } from '../cluster/conflicts.js';
import type { KeepMode } from '../config/choices.js';
import type { HostPartKeeper } from './host-part-keeper.js';
import type { FailureStage, SyncResult } from './result.js';
import type { ReportFields, RunReport } from './run-report.js';
import type {
  EventSink,
  EventSubject,
  EventType,
  LoadBalancer,
  NodeDirectory,
  RequestCounter,
  ServiceResource,
} from '../cluster/ports.js';

export interface SyncSettings {
  hosts: readonly HostRange[];
  /** The whole detection, every source and retry included, must finish within this. */
  detectDeadlineMs: number;
  policy: PrefixPolicy;
  reload: ReloadStrategy;
  reloadTimeoutMs: number;
  dryRun: boolean;
  /** Which Services keep their host part when the prefix changes. */
  keepHostParts: KeepMode;
}

/** The cluster as a sync uses it; the cluster/ classes implement it, and so does the in-memory fake. */
export interface SyncTarget {
  nodes: NodeDirectory;
  pool: PoolStore;
  events: EventSink;
  /** MetalLB or Cilium's LB-IPAM: what gives Services their addresses from the pool. */
  loadBalancer: LoadBalancer;
  services: ServiceResource;
  counter: RequestCounter;
}

/** What every step after detection works with. */
export interface Run {
  /** This run's id: what its claims and writes carry, so that it finds its own work again. */
  id: string;
  startedAt: Date;
  settings: SyncSettings;
  target: SyncTarget;
  log: Logger;
  report: RunReport;
  keeper: HostPartKeeper;
}

/** The pool entries this run wants, and how it found them out. */
export interface Wanted {
  prefix: string;
  subnet: IPv6;
  entries: string[];
  found: ReportFields;
}

/** A step that ended the run: where, why, what it had found; `conflict` when another writer won. */
export interface StepFailure {
  stage: FailureStage;
  message: string;
  fields: ReportFields;
  conflict?: boolean;
}

export type Step<T> = Result<T, StepFailure>;

/**
 * How long a claim holds: the longest a restart may take, and a margin for the patches around it.
 * A run that outlives its claim may see another take it over; one killed leaves it for this long.
 */
export const CLAIM_MARGIN_MS = 15_000;

export const claimOf = (run: Run): Claim =>
  claimFor(run.id, new Date(), run.settings.reloadTimeoutMs + CLAIM_MARGIN_MS);

/** `work` as a step of `stage`: what it throws is that stage's failure. */
export async function inStage<T>(
  stage: FailureStage,
  work: () => Promise<T>,
  fields: ReportFields = {},
): Promise<Step<T>> {
  try {
    return ok(await work());
  } catch (error) {
    return fail({
      stage,
      message: errorText(error),
      fields,
      ...(isConflict(error) ? { conflict: true } : {}),
    });
  }
}

/** The Service part of a report, when the run looked at Services. */
export function servicesOf(run: Run): ReportFields {
  const services = run.keeper.report();
  return services === undefined ? {} : { services };
}

/** Another run is making this change, or restarting the load balancer for it: this one leaves it to that run. */
export function leftToOther(run: Run, fields: ReportFields, reason: string): SyncResult {
  return run.report.done('joined', {
    ...fields,
    reload: { strategy: run.settings.reload, action: 'none', reason },
  });
}

export const claimedBy = (by: Claim, doing: string): string =>
  `run ${by.run} is ${doing} (claimed until ${by.until}); left to it`;

/** Best effort: a sync never fails because its Event could not be recorded. */
export async function announce(
  run: Run,
  pool: EventSubject,
  type: EventType,
  reason: string,
  message: string,
): Promise<void> {
  const recorded = await run.target.events.record(pool, type, reason, message);
  if (!recorded.ok)
    run.log.warn('could not record an Event', { pool: run.target.pool.name, error: recorded.error });
}
