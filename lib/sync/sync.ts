// One sync run as a pipeline (external-dns's Controller.RunOnce): detect the prefix → plan the pool
// and write it → have MetalLB take it, or roll the write back → report. Each step hands the next
// what it needs, or the failure that ends the run.
import { randomUUID } from 'node:crypto';
import type { KeepMode, ReloadStrategy } from '../config/choices.js';
import { errorText } from '../errors/error-text.js';
import { fail, ok, type Result } from '../errors/result.js';
import type { Logger } from '../log/logger.js';
import {
  claimFor,
  holderOf,
  reloadMark,
  type Claim,
  type ReloadDebt,
  type ServicesMoving,
} from '../plan/claims.js';
import { planPool, type Plan } from '../plan/plan.js';
import { parsePoolEntry, type PoolEntry } from '../plan/pool-entry.js';
import { choosePrefix, readPrefixHistory, remember } from '../plan/prefix-history.js';
import { RELOAD_OWED_ANNOTATION, WRITTEN_BY_ANNOTATION } from '../plan/registry.js';
import { SUBNET_LENGTH, type HostRange } from '../prefix/host-range.js';
import { networkOf, type IPv6 } from '../prefix/ipv6.js';
import { checkAnswerLength, desiredEntries, subnetFor, type PrefixPolicy } from '../prefix/subnet.js';
import type { NodeDirectory, PrefixSource, SourceAnswer } from '../source/source.js';
import type { MetalLBApi } from '../cluster/metallb-pods.js';
import type { PoolStore, ReloadClaimOutcome, RestoreOutcome, Written } from '../cluster/owned-pool.js';
import type { Pool } from '../cluster/pool-client.js';
import type { EventRecorder, EventSubject, EventType } from '../cluster/pool-events.js';
import type { RequestCount } from '../cluster/api-requests.js';
import type { ServiceApi } from '../cluster/service-client.js';
import { HostPartKeeper, type MoveInput } from './host-part-keeper.js';
import { detect } from './detect.js';
import { carryOut, planReload, reloadMetalLB, type ReloadOutcome, type ReloadPlan } from './reload.js';
import type { FailureStage, ReloadReport, SyncResult } from './result.js';
import { startReport, type ReportFields, type RunReport } from './run-report.js';

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
  events: EventRecorder;
  metallb: MetalLBApi;
  services: ServiceApi;
  counter: RequestCount;
}

export interface SyncRequest {
  /** What started this run: cli, schedule, http... (reported only). */
  trigger?: string;
  dryRun?: boolean;
  /** Reload MetalLB even if the pool is already right. */
  force?: boolean;
  /** A prefix pushed by the caller, used instead of asking the source. */
  answer?: SourceAnswer;
  /** Ends detection early: the run's deadline, or a signal to the process. */
  stop?: AbortSignal;
  /**
   * When the caller asked (default: now): a forced run counts a restart begun since as its own.
   * A process started for this one run (the CLI, a CronJob) passes its own start.
   */
  startedAt?: Date;
}

/** What every step after detection works with. */
interface Run {
  /** This run's id: what its claims and writes carry, so that it finds its own work again. */
  id: string;
  startedAt: Date;
  settings: SyncSettings;
  target: SyncTarget;
  log: Logger;
  report: RunReport;
  keeper: HostPartKeeper;
}

interface Mode {
  dryRun: boolean;
  force: boolean;
}

/** The pool entries this run wants, and how it found them out. */
interface Wanted {
  prefix: string;
  subnet: IPv6;
  entries: string[];
  found: ReportFields;
}

interface Diff {
  before: string[];
  after: string[];
  added: string[];
  removed: string[];
}

/**
 * What the write step did. `joined`: another run is making this very change. `claimed`: this
 * run's write claimed the restart MetalLB needs to take it.
 */
type Change =
  | { kind: 'dry-run'; diff: Diff }
  | { kind: 'joined'; diff: Diff; by: Claim; doing: string }
  | { kind: 'unchanged'; diff: Diff; debt: ReloadDebt; pool: Pool }
  | { kind: 'written'; diff: Diff; written: Written; claimed: boolean; reload?: ReloadPlan };

/** What MetalLB may have to take: anything but a dry run or a change another run makes. */
type Committed = Extract<Change, { kind: 'unchanged' | 'written' }>;

/** How far planAndWrite got, for a failure's stage. */
type WriteStep = { stage: 'read' } | { stage: 'services' } | { stage: 'write'; diff: Diff };

/** A write sent whose answer may be lost: the pool names this run as its writer if it was applied. */
interface Sent {
  from: Pool;
  plan: Plan;
  diff: Diff;
  claimed: boolean;
  reload?: ReloadPlan;
}

interface StepFailure {
  stage: FailureStage;
  message: string;
  fields: ReportFields;
}

/**
 * How long a claim holds: the longest a restart may take, and a margin for the patches around it.
 * A run that outlives its claim may see another take it over; one killed leaves it for this long.
 */
export const CLAIM_MARGIN_MS = 15_000;

/**
 * A forced run counts a restart begun this long before it started as its own: runs launched together
 * start seconds apart on a busy node, and a restart that fresh already did what force asks for.
 */
export const FORCED_RESTART_WINDOW_MS = 30_000;

export async function syncOnce(
  settings: SyncSettings,
  source: PrefixSource,
  target: SyncTarget,
  log: Logger,
  request: SyncRequest = {},
): Promise<SyncResult> {
  const run: Run = {
    id: randomUUID(),
    startedAt: request.startedAt ?? new Date(),
    settings,
    target,
    log,
    report: startReport(target.pool.name, target.counter, log, request.trigger),
    keeper: new HostPartKeeper(target.services, target.metallb, settings.keepHostParts),
  };
  const detected = await detect(source, settings.detectDeadlineMs, target.nodes, request);
  if (!detected.ok) return stopEarly(run, 'detect', detected.error, { source: source.name });
  const { alternatives = [], ...primary } = detected.value;
  const answers = [primary, ...alternatives];
  for (const { raw, prefixLength, source } of answers) {
    const plausible = checkAnswerLength(raw, prefixLength, settings.policy);
    if (!plausible.ok) return stopEarly(run, 'detect', plausible.error, { source, answer: raw });
  }
  const candidates = answers.map((answer) => wantedPool(answer, settings));
  const [first] = candidates;
  log.debug('prefix detected', {
    ...first?.found,
    desired: first?.entries,
    ...(candidates.length > 1 ? { inUse: candidates.map((c) => c.prefix) } : {}),
  });

  const mode = { dryRun: request.dryRun ?? settings.dryRun, force: request.force ?? false };
  const planned = await planAndWrite(run, candidates, mode);
  if (!planned.ok) {
    const { stage, message, fields } = planned.error;
    const found =
      candidates.length === 1 ? candidates[0]?.found : { source: primary.source, answer: primary.raw };
    return stopEarly(run, stage, message, { ...found, ...fields, ...servicesOf(run) });
  }
  const { change, wanted } = planned.value;
  const fields = { ...wanted.found, ...change.diff, ...servicesOf(run) };
  if (change.kind === 'dry-run') return run.report.done('dry-run', fields);
  if (change.kind === 'joined') return joined(run, fields, change.by, change.doing);
  return takeOrRollBack(run, wanted, change, mode.force);
}

function wantedPool(answer: SourceAnswer, settings: SyncSettings): Wanted {
  const subnet = subnetFor(answer.address, answer.prefixLength, settings.policy);
  const prefix = `${subnet.toString()}/64`;
  return {
    prefix,
    subnet,
    entries: desiredEntries(subnet, settings.hosts),
    found: {
      source: answer.source,
      answer: answer.raw,
      ...(answer.evidence === undefined ? {} : { sources: answer.evidence }),
      prefix,
    },
  };
}

const claimOf = (run: Run): Claim =>
  claimFor(run.id, new Date(), run.settings.reloadTimeoutMs + CLAIM_MARGIN_MS);

/**
 * Plans against the pool as it is now and writes the plan, re-planning when someone else wrote
 * first. When the addresses change, MetalLB's pods are looked at first: the write claims the
 * restart they need to take the new addresses. A Services move is recorded on the pool before the
 * first Service is patched; one an interrupted run left is repaired first.
 */
async function planAndWrite(
  run: Run,
  candidates: readonly Wanted[],
  mode: Mode,
): Promise<Result<{ change: Change; wanted: Wanted }, StepFailure>> {
  const { target, settings, log } = run;
  const store = target.pool;
  let reload: ReloadPlan | undefined;
  let sent: Sent | undefined;
  // Where a throw lands: the Services' moves, or the write of this diff (reported if it fails); a
  // failed re-read after a conflict is a read failure.
  let step = { stage: 'read' } as WriteStep;
  try {
    return await store.update(
      async ({
        pool: read,
        ownership,
        reload: debt,
        moving,
      }): Promise<Result<{ change: Change; wanted: Wanted }, StepFailure>> => {
        let pool = read;
        const before = pool.spec.addresses;
        if (!ownership.ok) return fail({ stage: 'read', message: ownership.error, fields: { before } });
        if (!moving.ok) return fail({ stage: 'read', message: moving.error, fields: { before } });
        const history = readPrefixHistory(pool.metadata.annotations);
        if (!history.ok) return fail({ stage: 'read', message: history.error, fields: { before } });
        const chosen = choosePrefix(candidates, history.value, (c) => c.prefix);
        if (!chosen.ok) return fail({ stage: 'detect', message: chosen.error, fields: { before } });
        const wanted = chosen.value;
        const done = (change: Change) => ok({ change, wanted });
        // Our write was applied, but its answer was lost: the retry met our own change.
        if (sent !== undefined && pool.metadata.annotations?.[WRITTEN_BY_ANNOTATION] === run.id) {
          const written = { before: sent.from, after: pool, plan: sent.plan };
          return done({ kind: 'written', ...sent, written });
        }
        const planned = planPool({
          current: before,
          ownership: ownership.value,
          desired: wanted.entries,
          hosts: settings.hosts,
        });
        if (!planned.ok) return fail({ stage: 'plan', message: planned.error, fields: { before } });
        const plan = planned.value;
        const diff = { before, after: plan.addresses, added: plan.added, removed: plan.removed };
        const changes = plan.addressesChanged || plan.recordChanged;

        const underway = moving.value;
        const mover = holderOf(underway, run.id, new Date());
        if (underway !== undefined && mover === 'other' && changes) {
          const other = leftToMover(underway, wanted, diff);
          return other.ok ? done(other.value) : fail(other.error);
        }
        step = { stage: 'services' };
        const resumes = changes && underway?.to === wanted.prefix;
        if (underway !== undefined && mover === 'free' && !mode.dryRun && !resumes)
          pool = await repairStranded(run, underway.to, plan, changes, pool);
        if (changes && plan.removed.length > 0) {
          if (!mode.dryRun) reload ??= await planReload(target.metallb, settings.reload, mode.force);
          pool = await moveServices(
            run,
            { plan, wanted, dryRun: mode.dryRun, recorded: mover === 'ours', reload },
            pool,
          );
        }
        if (mode.dryRun && (changes || mode.force)) return done({ kind: 'dry-run', diff });
        if (!changes) return done({ kind: 'unchanged', diff, debt, pool });
        if (plan.addressesChanged) reload ??= await planReload(target.metallb, settings.reload, mode.force);
        const mark = reloadMarkFor(reload, pool, run);
        step = { stage: 'write', diff };
        sent = { from: pool, plan, diff, claimed: mark.claimed, ...(reload === undefined ? {} : { reload }) };
        const written = await store.write(pool, plan, {
          prefix: wanted.prefix,
          reloadMark: mark.value,
          history: remember(history.value, wanted.prefix),
          run: run.id,
        });
        log.info('pool written', { pool: store.name, ...diff, reloadOwed: mark.value !== null });
        return done({ kind: 'written', ...sent, written });
      },
      (conflicts) => {
        step = { stage: 'read' };
        log.warn('pool changed while we wrote it; re-reading', { pool: store.name, conflicts });
      },
    );
  } catch (error) {
    const message = errorText(error);
    if (step.stage !== 'write') return fail({ stage: step.stage, message, fields: {} });
    // The pool stays as it was, so the Services go back to match it.
    const residue = await undoServices(run);
    return fail({ stage: 'write', message: `${message}${residue}`, fields: step.diff });
  }
}

/**
 * Another run's Services move is under way: one to the same prefix is that run's to finish (this run
 * joins it); one to another prefix makes this run stop rather than move the Services both ways.
 */
function leftToMover(
  underway: ServicesMoving,
  wanted: Wanted,
  diff: Diff,
): Result<Extract<Change, { kind: 'joined' }>, StepFailure> {
  if (underway.to === wanted.prefix)
    return ok({
      kind: 'joined',
      diff,
      by: underway,
      doing: `moving the Services and the pool to ${underway.to}`,
    });
  const message = `run ${underway.run} is moving the Services to ${underway.to} until ${underway.until}; not moving them to ${wanted.prefix} at the same time`;
  return fail({ stage: 'services', message, fields: { before: diff.before } });
}

/**
 * Moves back the pins a killed run left on `stranded`, a prefix the pool does not hold; when this
 * run writes no addresses, ends the record of that move too (kept while a Service is left on it).
 * Returns the pool as it is now.
 */
async function repairStranded(
  run: Run,
  stranded: string,
  plan: Plan,
  changes: boolean,
  pool: Pool,
): Promise<Pool> {
  const left = await run.keeper.repair(repairInput(stranded, plan.previouslyOwned));
  return !changes && left === 0 ? run.target.pool.recordMoving(pool, null) : pool;
}

/**
 * Re-pins the Services for the pool's move before the pool is written, so that MetalLB finds each
 * kept Service pinned when the new range appears. The move is recorded on the pool before the first
 * patch (unless this run recorded it already). Returns the pool as it is now.
 */
async function moveServices(
  run: Run,
  move: { plan: Plan; wanted: Wanted; dryRun: boolean; recorded: boolean; reload?: ReloadPlan | undefined },
  pool: Pool,
): Promise<Pool> {
  const { plan, wanted, dryRun, recorded, reload } = move;
  const moves = await run.keeper.plan(hostPartInput(plan, wanted), dryRun, reload?.report.metallbImage);
  if (moves === 0 || dryRun) return pool;
  const marked = recorded
    ? pool
    : await run.target.pool.recordMoving(pool, { to: wanted.prefix, ...claimOf(run) });
  await run.keeper.apply();
  return marked;
}

/**
 * The owed-restart mark a write carries: this run's claim when it will restart MetalLB, a debt
 * open to the next run when MetalLB's pods could not be looked at, none when MetalLB reloads by
 * itself; a write of the record alone keeps whatever mark the pool had.
 */
function reloadMarkFor(
  reload: ReloadPlan | undefined,
  pool: Pool,
  run: Run,
): { value: string | null; claimed: boolean } {
  if (reload === undefined)
    return { value: pool.metadata.annotations?.[RELOAD_OWED_ANNOTATION] ?? null, claimed: false };
  if (reload.kind === 'cycle') return { value: reloadMark(claimOf(run), new Date()), claimed: true };
  return { value: reload.kind === 'unknown' ? reloadMark(undefined, new Date()) : null, claimed: false };
}

/** Puts the Services back after the pool could not follow them; says what was left, for the message. */
async function undoServices(run: Run): Promise<string> {
  const left = await run.keeper.undo();
  try {
    await run.target.pool.endMoving(run.id, left.length > 0);
  } catch (error) {
    run.log.warn('could not end the record of the Services move; the next run repairs what it names', {
      pool: run.target.pool.name,
      error: errorText(error),
    });
  }
  return left.length === 0 ? '' : `; ${left.join('; ')}`;
}

/** Where the Services' addresses go: from the entries we owned to the same host parts in the new /64. */
function hostPartInput(plan: Plan, wanted: Wanted): MoveInput {
  return {
    from: parsedEntries(plan.previouslyOwned),
    subnet: wanted.subnet,
    into: parsedEntries(plan.owned),
  };
}

/** Back from a prefix an interrupted run moved the Services to, onto the entries the pool owns now. */
function repairInput(stranded: string, owned: readonly string[]): MoveInput {
  const from = parsedEntries([stranded]);
  const into = parsedEntries(owned);
  const subnet = (into[0] ?? from[0])?.first as IPv6;
  return { from, subnet: networkOf(subnet, SUBNET_LENGTH), into };
}

const parsedEntries = (entries: readonly string[]) =>
  entries.map(parsePoolEntry).filter((e): e is PoolEntry => e !== undefined);

/** The Service part of a report, when the run looked at Services. */
function servicesOf(run: Run): ReportFields {
  const services = run.keeper.report();
  return services === undefined ? {} : { services };
}

/** Another run is making this change, or restarting MetalLB for it: this one leaves it to that run. */
function joined(run: Run, fields: ReportFields, by: Claim, doing: string): SyncResult {
  const reason = `run ${by.run} is ${doing} (claimed until ${by.until}); left to it`;
  return run.report.done('joined', {
    ...fields,
    reload: { strategy: run.settings.reload, action: 'none', reason },
  });
}

/**
 * The one place that decides whether MetalLB is asked to take the pool: after the addresses
 * changed, when an earlier run left a restart owed, or when the caller forces it. Otherwise says why not.
 */
function reloadSkipped(
  change: Committed,
  force: boolean,
  strategy: ReloadStrategy,
): ReloadReport | undefined {
  if (force) return undefined;
  if (change.kind === 'written' ? change.claimed || change.written.plan.addressesChanged : change.debt.owed)
    return undefined;
  const reason =
    change.kind === 'written'
      ? 'addresses unchanged; only the ownership record was written'
      : 'pool already up to date';
  return { strategy, action: 'none', reason };
}

/** Has MetalLB take the pool when it must; a written pool it does not take is rolled back. */
async function takeOrRollBack(
  run: Run,
  wanted: Wanted,
  change: Committed,
  force: boolean,
): Promise<SyncResult> {
  const fields = { ...wanted.found, ...change.diff, ...servicesOf(run) };
  const status = change.kind === 'written' ? 'updated' : 'unchanged';
  const skipped = reloadSkipped(change, force, run.settings.reload);
  if (skipped !== undefined) return run.report.done(status, { ...fields, reload: skipped });
  const { metallb, pool: store } = run.target;
  let seen = change.kind === 'written' ? change.written.after : change.pool;
  let reload: ReloadOutcome;
  if (change.kind === 'written' && change.reload !== undefined) {
    reload = await carryOut(metallb, change.reload, run.settings.reloadTimeoutMs);
    if (change.reload.kind === 'unknown') {
      const message = `${String(reload.failure)}; MetalLB's pods were not looked at, so the pool keeps the new addresses and stays marked for a restart, which the next run makes`;
      return run.report.failed('reload', message, { ...fields, reload: reload.report });
    }
  } else {
    let claim: ReloadClaimOutcome;
    try {
      const since = new Date(run.startedAt.getTime() - FORCED_RESTART_WINDOW_MS);
      claim = await store.claimReload(seen, claimOf(run), force, since);
    } catch (error) {
      return run.report.failed('reload', `claiming the restart of MetalLB: ${errorText(error)}`, fields);
    }
    if (claim.kind === 'held') return joined(run, fields, claim.by, 'restarting MetalLB for this pool');
    if (claim.kind === 'restarted') {
      const reason = `run ${claim.by.run} restarted MetalLB at ${claim.by.at}, less than ${String(FORCED_RESTART_WINDOW_MS / 1000)} s before this run started or since`;
      return run.report.done('joined', {
        ...fields,
        reload: { strategy: run.settings.reload, action: 'none', reason },
      });
    }
    if (claim.kind === 'not-owed')
      return run.report.done(status, {
        ...fields,
        reload: {
          strategy: run.settings.reload,
          action: 'none',
          reason: 'restart paid by another run meanwhile',
        },
      });
    seen = claim.pool;
    reload = await reloadMetalLB(metallb, run.settings, force);
  }
  const owedBefore = change.kind === 'unchanged' && change.debt.owed;
  const report = owedBefore
    ? { ...reload.report, reason: `owed by an earlier run: ${reload.report.reason}` }
    : reload.report;
  const reported = { ...fields, reload: report };
  if (reload.failure === undefined) {
    await settle(run, false, seen);
    if (change.kind === 'written') {
      const message = updateMessage(wanted, change.written.plan, report);
      await announce(run, change.written.after.metadata, 'Normal', 'AddressesUpdated', message);
      await announceServices(run, change.written.after.metadata);
    }
    return run.report.done(status, reported);
  }
  if (reload.unobserved === true) {
    await settle(run, true, seen);
    const message = `${reload.failure}; the pool keeps the new addresses and stays marked for a restart, which the next run makes`;
    return run.report.failed('reload', message, reported);
  }
  if (change.kind === 'written' && change.written.plan.addressesChanged)
    return rollBack(run, change.written, reload.failure, reported);
  await settle(run, true, seen);
  return run.report.failed('reload', reload.failure, reported);
}

/**
 * Ends this run's claim on the restart: paid (cleared), or left owed to the next run. A mark left
 * behind only costs a later run a restart.
 */
async function settle(run: Run, owed: boolean, seen?: Pool): Promise<void> {
  try {
    await run.target.pool.settle(run.id, owed, seen);
  } catch (error) {
    run.log.warn(
      'MetalLB took the pool, but the owed-reload mark could not be cleared; a run after it lapses restarts MetalLB again',
      {
        pool: run.target.pool.name,
        error: errorText(error),
      },
    );
  }
}

/** MetalLB did not take the written pool: put the pool back, and restart MetalLB on it. */
async function rollBack(
  run: Run,
  written: Written,
  failure: string,
  fields: ReportFields,
): Promise<SyncResult> {
  const { target, settings, report, log } = run;
  const previous = written.before.spec.addresses;
  log.error('MetalLB did not take the new addresses; rolling the pool back', {
    pool: target.pool.name,
    error: failure,
  });
  let restored: RestoreOutcome;
  try {
    // The restart below is forced: the restored pool owes one, claimed by this run, until it is done.
    restored = await target.pool.restore(written, settings.hosts, reloadMark(claimOf(run), new Date()));
  } catch (error) {
    const why = errorText(error);
    const message = `${failure}; restoring ${previous.join(', ')} failed: ${why}`;
    await announce(run, written.after.metadata, 'Warning', 'RollbackFailed', message);
    return report.failed('rollback', `${failure}; rolling the pool back failed too: ${why}`, fields);
  }
  if (restored === 'superseded') {
    const message = `${failure}; not rolled back: another sync has written the pool since, and its addresses stay`;
    await announce(run, written.after.metadata, 'Warning', 'RollbackSkipped', message);
    return report.failed('reload', message, fields);
  }
  // The Services follow the pool back, before MetalLB restarts on it.
  const residue = await undoServices(run);
  const again = await reloadMetalLB(target.metallb, settings, true);
  await settle(run, again.failure !== undefined);
  await announce(
    run,
    written.after.metadata,
    'Warning',
    'RolledBack',
    `${failure}; restored ${previous.join(', ')}${residue}`,
  );
  const restarted =
    again.failure === undefined
      ? ' and MetalLB restarted'
      : `; restarting MetalLB again failed: ${again.failure}`;
  const message = `${failure}; pool restored to its previous addresses${restarted}${residue}`;
  return report.failed('reload', message, { ...fields, after: previous, ...servicesOf(run) }, 'rolled-back');
}

/**
 * A run that ends before MetalLB is asked anything: reported, and told on the pool as a Warning
 * Event, so `kubectl describe ipaddresspool` shows an outage of the source or the API too.
 */
async function stopEarly(
  run: Run,
  stage: FailureStage,
  message: string,
  fields: ReportFields,
): Promise<SyncResult> {
  const reason = stage === 'detect' ? 'PrefixNotDetected' : 'SyncFailed';
  await announce(run, run.target.pool.ref, 'Warning', reason, message);
  return run.report.failed(stage, message, fields);
}

/** What the Services went through, told on the pool: kept host parts, and those that could not be. */
async function announceServices(run: Run, pool: EventSubject): Promise<void> {
  const services = run.keeper.report();
  if (services === undefined) return;
  if (services.changed.length > 0) {
    const moves = services.changed.map(
      (c) =>
        `${c.service} ${c.kind === 'unpin' ? 'unpinned' : c.moved.map((m) => `${m.from} → ${m.to}`).join(', ')}`,
    );
    await announce(run, pool, 'Normal', 'HostPartsKept', moves.join('; '));
  }
  const lost = [
    ...services.notKept.map((n) => `${n.service} ${n.address}: ${n.reason}`),
    ...(services.skipped === undefined ? [] : [services.skipped]),
  ];
  if (lost.length > 0) await announce(run, pool, 'Warning', 'HostPartsNotKept', lost.join('; '));
}

function updateMessage(wanted: Wanted, plan: Plan, reload: ReloadReport): string {
  const list = (entries: string[]) => entries.join(', ') || 'nothing';
  return `prefix ${wanted.prefix} (from ${String(wanted.found.source)}): added ${list(plan.added)}; removed ${list(plan.removed)}; MetalLB reload ${reload.action} (${reload.reason})`;
}

/** Best effort: a sync never fails because its Event could not be recorded. */
async function announce(
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
