// The write step of a sync: plan against the pool as it is now and write the plan, planned again
// on a fresh read when someone else wrote first. Each part — read, decide (pure), move the
// Services, write — returns its failure with its stage. When the addresses change, the load balancer
// is asked first whether it must be restarted to take them: the write claims that restart.
import { fail, ok } from '../errors/result.js';
import { holderOf, type Claim, type Holder, type ReloadDebt, type ServicesMoving } from '../plan/claims.js';
import { planPool, type Plan } from '../plan/plan.js';
import { parsePoolEntry, type PoolEntry } from '../plan/pool-entry.js';
import { choosePrefix } from '../plan/prefix-history.js';
import { SUBNET_LENGTH } from '../prefix/host-range.js';
import { networkOf, type IPv6 } from '../prefix/ipv6.js';
import { retryOnConflict } from '../cluster/conflicts.js';
import { gaveUp, type PoolState, type Written } from '../cluster/pool-store.js';
import type { MoveInput } from './host-part-keeper.js';
import { claimOf, inStage, type Run, type Step, type StepFailure, type Wanted } from './run.js';
import { errorText } from '../errors/error-text.js';
import type { AddressPool, ReloadPlan } from '../cluster/ports.js';

export interface Diff {
  before: string[];
  after: string[];
  added: string[];
  removed: string[];
}

/**
 * What the write step did. `joined`: another run is making this very change. `claimed`: this
 * run's write claimed the restart the load balancer needs to take it.
 */
export type Change =
  | { kind: 'dry-run'; diff: Diff }
  | { kind: 'joined'; diff: Diff; by: Claim; doing: string }
  | { kind: 'unchanged'; diff: Diff; debt: ReloadDebt; pool: AddressPool }
  | { kind: 'written'; diff: Diff; written: Written; claimed: boolean; reload?: ReloadPlan };

/** What the load balancer may have to take: anything but a dry run or a change another run makes. */
export type Committed = Extract<Change, { kind: 'unchanged' | 'written' }>;

export interface Mode {
  dryRun: boolean;
  force: boolean;
}

export interface Planned {
  change: Change;
  wanted: Wanted;
}

/** A write sent whose answer may be lost: the pool names this run as its writer if it was applied. */
interface Sent {
  from: AddressPool;
  plan: Plan;
  diff: Diff;
  claimed: boolean;
  reload?: ReloadPlan;
}

/** The pool as read asks for this plan to be carried out. */
interface ToCarryOut {
  state: PoolState;
  plan: Plan;
  diff: Diff;
  /** The addresses or the record change. */
  changes: boolean;
  /** A Services move recorded on the pool, and whose it is. */
  underway: ServicesMoving | undefined;
  mover: Holder;
  history: string[];
}

type Decision = { wanted: Wanted } & (
  { kind: 'settled'; change: Change } | ({ kind: 'carry-out' } & ToCarryOut)
);

/** Looked at once per run, however often the write is planned again. */
class Once<T> {
  private value: Promise<T> | undefined;
  constructor(private readonly make: () => Promise<T>) {}
  get(): Promise<T> {
    this.value ??= this.make();
    return this.value;
  }
  get asked(): boolean {
    return this.value !== undefined;
  }
}

/**
 * Plans against the pool as it is now and writes the plan, planning again on a fresh read when
 * someone else wrote first. A write that fails puts the Services moved for it back.
 */
export async function planAndWrite(
  run: Run,
  candidates: readonly Wanted[],
  mode: Mode,
): Promise<Step<Planned>> {
  const { target, settings, log } = run;
  const reload = new Once(() => target.loadBalancer.planReload(settings.reload, mode.force));
  let sent: Sent | undefined;
  const attempt = async (): Promise<Step<Planned>> => {
    const read = await inStage('read', () => target.pool.read());
    if (!read.ok) return read;
    const decided = decide(run, read.value, candidates, sent);
    if (!decided.ok) return decided;
    const decision = decided.value;
    if (decision.kind === 'settled') return ok(decision);
    const moved = await inStage('services', () => moveServices(run, decision, mode, reload));
    if (!moved.ok) return moved;
    const { wanted, plan, diff, changes } = decision;
    if (mode.dryRun && (changes || mode.force)) return ok({ change: { kind: 'dry-run', diff }, wanted });
    const pool = moved.value;
    if (!changes)
      return ok({ change: { kind: 'unchanged', diff, debt: decision.state.reload, pool }, wanted });
    const restart = plan.addressesChanged || reload.asked ? await reload.get() : undefined;
    const mark = reloadMarkFor(restart, run);
    sent = {
      from: pool,
      plan,
      diff,
      claimed: mark.claimed,
      ...(restart === undefined ? {} : { reload: restart }),
    };
    const record = { prefix: wanted.prefix, reload: mark.debt, history: decision.history, run: run.id };
    const written = await inStage('write', () => target.pool.write(pool, plan, record), diff);
    if (!written.ok) return written;
    log.info('pool written', {
      pool: target.pool.name,
      ...diff,
      reloadOwed: (mark.debt === 'kept' ? decision.state.reload : mark.debt).owed,
    });
    return ok({ change: { kind: 'written', ...sent, written: written.value }, wanted });
  };
  const outcome = await retryOnConflict(
    attempt,
    (o) => o.ok && !o.value.ok && o.value.error.conflict === true,
    (conflicts) => {
      log.warn('pool changed while we wrote it; re-reading', { pool: target.pool.name, conflicts });
    },
  );
  if (outcome.ok) return outcome;
  const failure =
    outcome.error.conflict === true
      ? { ...outcome.error, message: gaveUp(target.pool.label).message }
      : outcome.error;
  if (failure.stage !== 'write') return fail(failure);
  // The pool stays as it was, so the Services go back to match it.
  return fail({ ...failure, message: `${failure.message}${await undoServices(run)}` });
}

/** What the pool as read asks of this run; pure but for the clock that tells a claim's holder. */
function decide(
  run: Run,
  state: PoolState,
  candidates: readonly Wanted[],
  sent: Sent | undefined,
): Step<Decision> {
  const before = state.pool.spec.addresses;
  const { ownership, moving, history } = state;
  const broken = (message: string) => fail({ stage: 'read' as const, message, fields: { before } });
  if (!ownership.ok) return broken(ownership.error);
  if (!moving.ok) return broken(moving.error);
  if (!history.ok) return broken(history.error);
  const chosen = choosePrefix(candidates, history.value, (c) => c.prefix);
  if (!chosen.ok) return fail({ stage: 'detect', message: chosen.error, fields: { before } });
  const wanted = chosen.value;
  // Our write was applied, but its answer was lost: the retry met our own change.
  if (sent !== undefined && state.writtenBy === run.id) {
    const written = { before: sent.from, after: state.pool, plan: sent.plan };
    return ok({ wanted, kind: 'settled', change: { kind: 'written', ...sent, written } });
  }
  const planned = planPool({
    current: before,
    ownership: ownership.value,
    desired: wanted.entries,
    hosts: run.settings.hosts,
  });
  if (!planned.ok) return fail({ stage: 'plan', message: planned.error, fields: { before } });
  const plan = planned.value;
  const diff = { before, after: plan.addresses, added: plan.added, removed: plan.removed };
  const changes = plan.addressesChanged || plan.recordChanged;
  const underway = moving.value;
  const mover = holderOf(underway, run.id, new Date());
  if (underway !== undefined && mover === 'other' && changes) {
    const other = leftToMover(underway, wanted, diff);
    return other.ok ? ok({ wanted, kind: 'settled', change: other.value }) : other;
  }
  return ok({
    wanted,
    kind: 'carry-out',
    state,
    plan,
    diff,
    changes,
    underway,
    mover,
    history: history.value,
  });
}

/**
 * Another run's Services move is under way: one to the same prefix is that run's to finish (this run
 * joins it); one to another prefix makes this run stop rather than move the Services both ways.
 */
function leftToMover(
  underway: ServicesMoving,
  wanted: Wanted,
  diff: Diff,
): Step<Extract<Change, { kind: 'joined' }>> {
  if (underway.to === wanted.prefix)
    return ok({
      kind: 'joined',
      diff,
      by: underway,
      doing: `moving the Services and the pool to ${underway.to}`,
    });
  const message = `run ${underway.run} is moving the Services to ${underway.to} until ${underway.until}; not moving them to ${wanted.prefix} at the same time`;
  return fail({ stage: 'services', message, fields: { before: diff.before } } satisfies StepFailure);
}

/**
 * The Services' part, before the pool is written: pins a killed run left on a prefix the pool does
 * not hold are moved back first; then the pins for this move, recorded on the pool before the first
 * patch (unless this run recorded it already), so that the load balancer finds each kept Service pinned when
 * the new range appears. Returns the pool as it is now.
 */
async function moveServices(
  run: Run,
  decision: { wanted: Wanted } & ToCarryOut,
  mode: Mode,
  reload: Once<ReloadPlan>,
): Promise<AddressPool> {
  const { wanted, plan, changes, underway, mover } = decision;
  let pool = decision.state.pool;
  const resumes = changes && underway?.to === wanted.prefix;
  if (underway !== undefined && mover === 'free' && !mode.dryRun && !resumes)
    pool = await repairStranded(run, underway.to, plan, changes, pool);
  if (!changes || plan.removed.length === 0) return pool;
  const known = mode.dryRun ? undefined : await reload.get();
  const moves = await run.keeper.plan(hostPartInput(plan, wanted), mode.dryRun, known);
  if (moves === 0 || mode.dryRun) return pool;
  const marked =
    mover === 'ours'
      ? pool
      : await run.target.pool.recordMoving(pool, { to: wanted.prefix, ...claimOf(run) });
  await run.keeper.apply();
  return marked;
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
  pool: AddressPool,
): Promise<AddressPool> {
  const left = await run.keeper.repair(repairInput(stranded, plan.previouslyOwned));
  return !changes && left === 0 ? run.target.pool.recordMoving(pool, null) : pool;
}

/**
 * The owed-restart mark a write carries: this run's claim when it will restart the load balancer, a debt
 * open to the next run when its pods could not be looked at, none when it takes the pool by
 * itself; a write of the record alone keeps whatever mark the pool had.
 */
function reloadMarkFor(
  reload: ReloadPlan | undefined,
  run: Run,
): { debt: ReloadDebt | 'kept'; claimed: boolean } {
  if (reload === undefined) return { debt: 'kept', claimed: false };
  if (reload.kind === 'cycle') return { debt: { owed: true, claim: claimOf(run) }, claimed: true };
  return { debt: reload.kind === 'unknown' ? { owed: true } : { owed: false }, claimed: false };
}

/** Puts the Services back after the pool could not follow them; says what was left, for the message. */
export async function undoServices(run: Run): Promise<string> {
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
