// The last step of a sync: have the load balancer take the pool when it must (after the addresses
// changed, when an earlier run left a restart owed, or when the caller forces it), settle the claim
// on the restart, and put the pool back when the load balancer does not come back with it.
import type { ReloadStrategy } from '../config/choices.js';
import type { Plan } from '../plan/plan.js';
import type { RestoreOutcome, Written } from '../cluster/pool-store.js';
import type { ReloadReport, SyncResult, SyncStatus } from './result.js';
import type { ReportFields } from './run-report.js';
import {
  announce,
  claimedBy,
  claimOf,
  inStage,
  leftToOther,
  servicesOf,
  type Run,
  type Wanted,
} from './run.js';
import { undoServices, type Committed } from './write-pool.js';
import { errorText } from '../errors/error-text.js';
import type { EventSubject, AddressPool, LoadBalancer, ReloadOutcome, ReloadPlan } from '../cluster/ports.js';

/**
 * A forced run counts a restart begun this long before it started as its own: runs launched together
 * start seconds apart on a busy node, and a restart that fresh already did what force asks for.
 */
export const FORCED_RESTART_WINDOW_MS = 30_000;

/** The load balancer was asked to take the pool (`seen`: the pool as last read or written), or the run ended. */
type Taken =
  { kind: 'asked'; reload: ReloadOutcome; seen: AddressPool } | { kind: 'ended'; result: SyncResult };

type Done = Exclude<SyncStatus, 'failed' | 'rolled-back' | 'joined' | 'dry-run'>;

/** Has the load balancer take the pool when it must; a written pool it does not take is rolled back. */
export async function takeOrRollBack(
  run: Run,
  wanted: Wanted,
  change: Committed,
  force: boolean,
): Promise<SyncResult> {
  const fields = { ...wanted.found, ...change.diff, ...servicesOf(run) };
  const status = change.kind === 'written' ? 'updated' : 'unchanged';
  const skipped = reloadSkipped(change, force, run.settings.reload);
  if (skipped !== undefined) return run.report.done(status, { ...fields, reload: skipped });
  const taken =
    change.kind === 'written' && change.reload !== undefined
      ? await restartAsPlanned(run, change.written, change.reload, fields)
      : await claimAndRestart(run, change, force, fields, status);
  if (taken.kind === 'ended') return taken.result;
  return afterRestart(run, wanted, change, taken, { fields, status });
}

/**
 * The one place that decides whether the load balancer is asked to take the pool: after the addresses
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

/** The restart the write claimed (or found it could not plan), carried out. */
async function restartAsPlanned(
  run: Run,
  written: Written,
  planned: ReloadPlan,
  fields: ReportFields,
): Promise<Taken> {
  const reload = await run.target.loadBalancer.carryOut(planned, run.settings.reloadTimeoutMs);
  if (planned.kind !== 'unknown') return { kind: 'asked', reload, seen: written.after };
  const message = `${String(reload.failure)}; ${run.target.loadBalancer.name}'s pods were not looked at, so the pool keeps the new addresses and stays marked for a restart, which the next run makes`;
  return {
    kind: 'ended',
    result: run.report.failed('reload', message, { ...fields, reload: reload.report }),
  };
}

/** A restart the pool owes (or the caller forces): claimed on the pool first, so that a burst makes one. */
async function claimAndRestart(
  run: Run,
  change: Committed,
  force: boolean,
  fields: ReportFields,
  status: Done,
): Promise<Taken> {
  const seen = change.kind === 'written' ? change.written.after : change.pool;
  const since = new Date(run.startedAt.getTime() - FORCED_RESTART_WINDOW_MS);
  const claim = await inStage('reload', () => run.target.pool.claimReload(seen, claimOf(run), force, since));
  const ended = (result: SyncResult): Taken => ({ kind: 'ended', result });
  if (!claim.ok)
    return ended(
      run.report.failed(
        'reload',
        `claiming the restart of ${run.target.loadBalancer.name}: ${claim.error.message}`,
        fields,
      ),
    );
  const outcome = claim.value;
  if (outcome.kind === 'held')
    return ended(
      leftToOther(
        run,
        fields,
        claimedBy(outcome.by, `restarting ${run.target.loadBalancer.name} for this pool`),
      ),
    );
  if (outcome.kind === 'restarted') {
    const reason = `run ${outcome.by.run} restarted ${run.target.loadBalancer.name} at ${outcome.by.at}, less than ${String(FORCED_RESTART_WINDOW_MS / 1000)} s before this run started or since`;
    return ended(leftToOther(run, fields, reason));
  }
  if (outcome.kind === 'not-owed') {
    const reload = {
      strategy: run.settings.reload,
      action: 'none',
      reason: 'restart paid by another run meanwhile',
    } as const;
    return ended(run.report.done(status, { ...fields, reload }));
  }
  return {
    kind: 'asked',
    reload: await reloadNow(run.target.loadBalancer, run.settings, force),
    seen: outcome.pool,
  };
}

/** The load balancer took the pool, or did not: the claim settled, the pool rolled back where it must be. */
async function afterRestart(
  run: Run,
  wanted: Wanted,
  change: Committed,
  { reload, seen }: Extract<Taken, { kind: 'asked' }>,
  { fields, status }: { fields: ReportFields; status: Done },
): Promise<SyncResult> {
  const owedBefore = change.kind === 'unchanged' && change.debt.owed;
  const report = owedBefore
    ? { ...reload.report, reason: `owed by an earlier run: ${reload.report.reason}` }
    : reload.report;
  const reported = { ...fields, reload: report };
  if (reload.failure === undefined) {
    await settle(run, false, seen);
    if (change.kind === 'written') {
      const { after, plan } = change.written;
      await announce(
        run,
        after.metadata,
        'Normal',
        'AddressesUpdated',
        updateMessage(wanted, plan, report, run.target.loadBalancer.name),
      );
      await announceServices(run, after.metadata);
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
async function settle(run: Run, owed: boolean, seen?: AddressPool): Promise<void> {
  try {
    await run.target.pool.settle(run.id, owed, seen);
  } catch (error) {
    const lb = run.target.loadBalancer.name;
    run.log.warn(
      `${lb} took the pool, but the owed-reload mark could not be cleared; a run after it lapses restarts ${lb} again`,
      { pool: run.target.pool.name, error: errorText(error) },
    );
  }
}

/** The load balancer did not take the written pool: put the pool back, and restart it on that. */
async function rollBack(
  run: Run,
  written: Written,
  failure: string,
  fields: ReportFields,
): Promise<SyncResult> {
  const { target, settings, report, log } = run;
  const previous = written.before.spec.addresses;
  const subject = written.after.metadata;
  log.error(`${target.loadBalancer.name} did not take the new addresses; rolling the pool back`, {
    pool: target.pool.name,
    error: failure,
  });
  let restored: RestoreOutcome;
  try {
    // The restart below is forced: the restored pool owes one, claimed by this run, until it is done.
    restored = await target.pool.restore(written, settings.hosts, claimOf(run));
  } catch (error) {
    const why = errorText(error);
    await announce(
      run,
      subject,
      'Warning',
      'RollbackFailed',
      `${failure}; restoring ${previous.join(', ')} failed: ${why}`,
    );
    return report.failed('rollback', `${failure}; rolling the pool back failed too: ${why}`, fields);
  }
  if (restored === 'superseded') {
    const message = `${failure}; not rolled back: another sync has written the pool since, and its addresses stay`;
    await announce(run, subject, 'Warning', 'RollbackSkipped', message);
    return report.failed('reload', message, fields);
  }
  // The Services follow the pool back, before the load balancer restarts on it.
  const residue = await undoServices(run);
  const again = await reloadNow(target.loadBalancer, settings, true);
  await settle(run, again.failure !== undefined);
  await announce(
    run,
    subject,
    'Warning',
    'RolledBack',
    `${failure}; restored ${previous.join(', ')}${residue}`,
  );
  const restarted =
    again.failure === undefined
      ? ` and ${target.loadBalancer.name} restarted`
      : `; restarting ${target.loadBalancer.name} again failed: ${again.failure}`;
  const message = `${failure}; pool restored to its previous addresses${restarted}${residue}`;
  return report.failed('reload', message, { ...fields, after: previous, ...servicesOf(run) }, 'rolled-back');
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

function updateMessage(wanted: Wanted, plan: Plan, reload: ReloadReport, lbName: string): string {
  const list = (entries: string[]) => entries.join(', ') || 'nothing';
  return `prefix ${wanted.prefix} (from ${String(wanted.found.source)}): added ${list(plan.added)}; removed ${list(plan.removed)}; ${lbName} reload ${reload.action} (${reload.reason})`;
}

/** Has the load balancer take the pool in one go, no plan made before the write: owed, forced, rolled back. */
async function reloadNow(
  lb: LoadBalancer,
  settings: Run['settings'],
  force: boolean,
): Promise<ReloadOutcome> {
  return lb.carryOut(await lb.planReload(settings.reload, force), settings.reloadTimeoutMs);
}
