// One sync run as a pipeline (external-dns's Controller.RunOnce): detect the prefix → plan the pool
// and write it → have MetalLB take it, or roll the write back → report. Each step hands the next
// what it needs, or the failure that ends the run.
import type { KeepMode, ReloadStrategy } from '../config/choices.js';
import { errorText } from '../errors/error-text.js';
import { fail, ok, type Result } from '../errors/result.js';
import type { Logger } from '../log/logger.js';
import { planPool, type Plan } from '../plan/plan.js';
import { parsePoolEntry, type PoolEntry } from '../plan/pool-entry.js';
import { choosePrefix, readPrefixHistory, remember } from '../plan/prefix-history.js';
import type { HostRange } from '../prefix/host-range.js';
import type { IPv6 } from '../prefix/ipv6.js';
import { checkAnswerLength, desiredEntries, subnetFor, type PrefixPolicy } from '../prefix/subnet.js';
import type { NodeDirectory, PrefixSource, SourceAnswer } from '../source/source.js';
import type { MetalLBApi } from '../cluster/metallb-pods.js';
import type { PoolStore, RestoreOutcome, Written } from '../cluster/owned-pool.js';
import type { Pool } from '../cluster/pool-client.js';
import type { EventRecorder, EventSubject, EventType } from '../cluster/pool-events.js';
import type { RequestCount } from '../cluster/api-requests.js';
import type { ServiceApi } from '../cluster/service-client.js';
import { HostPartKeeper } from './host-part-keeper.js';
import { detect } from './detect.js';
import { carryOut, planReload, reloadMetalLB, type ReloadPlan } from './reload.js';
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
}

/** What every step after detection works with. */
interface Run {
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
 * What the write step did. `reloadOwed`: the pool now carries the mark that MetalLB must still be
 * restarted (written by this run, or left by an earlier one that did not finish).
 */
type Change =
  | { kind: 'dry-run'; diff: Diff }
  | { kind: 'unchanged'; diff: Diff; reloadOwed: boolean; pool: Pool }
  | { kind: 'written'; diff: Diff; written: Written; reloadOwed: boolean; reload?: ReloadPlan };

/** What MetalLB may have to take: anything but a dry run. */
type Committed = Exclude<Change, { kind: 'dry-run' }>;

/** How far planAndWrite got, for a failure's stage. */
type WriteStep = { stage: 'read' } | { stage: 'services' } | { stage: 'write'; diff: Diff };

interface StepFailure {
  stage: FailureStage;
  message: string;
  fields: ReportFields;
}

export async function syncOnce(
  settings: SyncSettings,
  source: PrefixSource,
  target: SyncTarget,
  log: Logger,
  request: SyncRequest = {},
): Promise<SyncResult> {
  const run: Run = {
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
  if (change.kind === 'dry-run')
    return run.report.done('dry-run', { ...wanted.found, ...change.diff, ...servicesOf(run) });
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

/**
 * Plans against the pool as it is now and writes the plan, re-planning when someone else wrote
 * first. When the addresses change, MetalLB's pods are looked at first: the write records whether
 * they must be restarted to take the new addresses.
 */
async function planAndWrite(
  run: Run,
  candidates: readonly Wanted[],
  mode: Mode,
): Promise<Result<{ change: Change; wanted: Wanted }, StepFailure>> {
  const { target, settings, log } = run;
  const store = target.pool;
  let reload: ReloadPlan | undefined;
  // Where a throw lands: the Services' moves, or the write of this diff (reported if it fails); a
  // failed re-read after a conflict is a read failure.
  let step = { stage: 'read' } as WriteStep;
  try {
    return await store.update(
      async ({
        pool,
        ownership,
        reloadOwed,
      }): Promise<Result<{ change: Change; wanted: Wanted }, StepFailure>> => {
        const before = pool.spec.addresses;
        if (!ownership.ok) return fail({ stage: 'read', message: ownership.error, fields: { before } });
        const history = readPrefixHistory(pool.metadata.annotations);
        if (!history.ok) return fail({ stage: 'read', message: history.error, fields: { before } });
        const chosen = choosePrefix(candidates, history.value, (c) => c.prefix);
        if (!chosen.ok) return fail({ stage: 'detect', message: chosen.error, fields: { before } });
        const wanted = chosen.value;
        const done = (change: Change) => ok({ change, wanted });
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
        if (changes && plan.removed.length > 0) {
          if (!mode.dryRun) reload ??= await planReload(target.metallb, settings.reload, mode.force);
          // Before the pool: MetalLB must find each kept Service pinned when the new range appears.
          step = { stage: 'services' };
          await run.keeper.keep(hostPartInput(plan, wanted), mode.dryRun, reload?.report.metallbImage);
        }
        if (mode.dryRun && (changes || mode.force)) return done({ kind: 'dry-run', diff });
        if (!changes) return done({ kind: 'unchanged', diff, reloadOwed, pool });
        if (plan.addressesChanged) reload ??= await planReload(target.metallb, settings.reload, mode.force);
        const owed = reload === undefined ? reloadOwed : reload.kind !== 'skip';
        step = { stage: 'write', diff };
        const written = await store.write(
          pool,
          plan,
          wanted.prefix,
          owed,
          remember(history.value, wanted.prefix),
        );
        log.info('pool written', { pool: store.name, ...diff, reloadOwed: owed });
        return done({
          kind: 'written',
          diff,
          written,
          reloadOwed: owed,
          ...(reload === undefined ? {} : { reload }),
        });
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
    const left = await run.keeper.undo();
    const residue = left.length === 0 ? '' : `; ${left.join('; ')}`;
    return fail({ stage: 'write', message: `${message}${residue}`, fields: step.diff });
  }
}

/** Where the Services' addresses go: from the entries we owned to the same host parts in the new /64. */
function hostPartInput(plan: Plan, wanted: Wanted) {
  const parsed = (entries: string[]) =>
    entries.map(parsePoolEntry).filter((e): e is PoolEntry => e !== undefined);
  return { from: parsed(plan.previouslyOwned), subnet: wanted.subnet, into: parsed(plan.owned) };
}

/** The Service part of a report, when the run looked at Services. */
function servicesOf(run: Run): ReportFields {
  const services = run.keeper.report();
  return services === undefined ? {} : { services };
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
  if (change.reloadOwed || (change.kind === 'written' && change.written.plan.addressesChanged))
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
  const { metallb } = run.target;
  const reload =
    change.kind === 'written' && change.reload !== undefined
      ? await carryOut(metallb, change.reload, run.settings.reloadTimeoutMs)
      : await reloadMetalLB(metallb, run.settings, force);
  const leftOwed = change.kind === 'unchanged' && change.reloadOwed;
  const report = leftOwed
    ? { ...reload.report, reason: `owed by an earlier run: ${reload.report.reason}` }
    : reload.report;
  const reported = { ...fields, reload: report };
  if (reload.failure === undefined) {
    if (change.reloadOwed) await settle(run, change.kind === 'written' ? change.written.after : change.pool);
    if (change.kind === 'written') {
      const message = updateMessage(wanted, change.written.plan, report);
      await announce(run, change.written.after.metadata, 'Normal', 'AddressesUpdated', message);
      await announceServices(run, change.written.after.metadata);
    }
    return run.report.done(status, reported);
  }
  if (reload.unobserved === true) {
    const message = `${reload.failure}; the pool keeps the new addresses and stays marked for a restart, which the next run makes`;
    return run.report.failed('reload', message, reported);
  }
  return change.kind === 'written' && change.written.plan.addressesChanged
    ? rollBack(run, change.written, reload.failure, reported)
    : run.report.failed('reload', reload.failure, reported);
}

/** MetalLB took the pool: the owed restart is paid. A mark left behind only costs the next run a restart. */
async function settle(run: Run, seen?: Pool): Promise<void> {
  try {
    await run.target.pool.settle(seen);
  } catch (error) {
    run.log.warn(
      'MetalLB took the pool, but the owed-reload mark could not be cleared; the next run restarts it again',
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
    // The restart below is forced: the restored pool owes one until it is done.
    restored = await target.pool.restore(written, settings.hosts, true);
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
  const left = await run.keeper.undo();
  const residue = left.length === 0 ? '' : `; ${left.join('; ')}`;
  const again = await reloadMetalLB(target.metallb, settings, true);
  if (again.failure === undefined) await settle(run);
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
