// The pool together with its record (see plan/pool-record.ts): the one place that reads, writes and
// restores what metallb-dyn6 owns in the pool. The record travels in the same patch as the
// addresses, so the two never disagree, and every patch carries the resourceVersion it was planned
// from (see conflicts.ts).
import { holderOf, paidSince, type Claim, type Restart, type ServicesMoving } from '../plan/claims.js';
import { planPool, type Plan } from '../plan/plan.js';
import {
  addressesRecord,
  movingRecord,
  previousRecord,
  readPoolRecord,
  reloadOwedRecord,
  restartPaidRecord,
  type PoolRecord,
  type RecordPatch,
  type WriteRecord,
} from '../plan/pool-record.js';
import type { HostRange } from '../prefix/host-range.js';
import { isConflict, MAX_CONFLICTS, retryOnConflict } from './conflicts.js';
import { ConflictError } from './pool-resource.js';
import type { AddressPool, PoolRef, PoolResource } from './ports.js';

/** The pool as read, with its whole record. */
export interface PoolState extends PoolRecord {
  pool: AddressPool;
}

/** What asking for the owed restart gave: it is this run's to make, another run's, or not owed. */
export type ReloadClaimOutcome =
  | { kind: 'claimed'; pool: AddressPool }
  | { kind: 'held'; by: Claim }
  | { kind: 'restarted'; by: Restart }
  | { kind: 'not-owed' };

/** One committed write: enough to put it back. */
export interface Written {
  before: AddressPool;
  after: AddressPool;
  plan: Plan;
}

export type RestoreOutcome = 'restored' | 'already-restored' | 'superseded';

const stateOf = (pool: AddressPool): PoolState => ({ pool, ...readPoolRecord(pool.metadata.annotations) });

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** The one pool metallb-dyn6 manages, with its record; every write at the resourceVersion it was planned from. */
export class PoolStore {
  constructor(private readonly api: PoolResource) {}

  /** namespace/name (name alone when cluster-scoped), for reports. */
  get name(): string {
    const { namespace, name } = this.api.ref;
    return namespace === undefined ? name : `${namespace}/${name}`;
  }

  /** The kind and name, for messages. */
  get label(): string {
    return this.api.label;
  }

  get ref(): PoolRef {
    return this.api.ref;
  }

  /** The pool as it is now, with its record. */
  async read(): Promise<PoolState> {
    return stateOf(await this.api.read());
  }

  /**
   * Writes a plan's addresses and ownership record (with the reload it owes and the prefixes the
   * pool has been on) onto the pool it was planned from.
   */
  async write(from: AddressPool, plan: Plan, record: Omit<WriteRecord, 'owned' | 'now'>): Promise<Written> {
    const after = await this.api.write(
      from.metadata.resourceVersion,
      plan.addresses,
      addressesRecord({ ...record, owned: plan.owned, now: new Date() }),
    );
    return { before: from, after, plan };
  }

  /**
   * Records, on the pool as planned from, that the Services are being moved (null: a lapsed record
   * was dealt with); returns the pool after.
   */
  recordMoving(from: AddressPool, moving: ServicesMoving | null): Promise<AddressPool> {
    return this.annotate(from, movingRecord(moving));
  }

  /**
   * Ends `run`'s record of a Services move without a write of the addresses: removes it, or, when
   * Services were left on the moved-to prefix (`stranded`), leaves it for the next run to repair,
   * lapsed at once. A record that is not `run`'s is left alone.
   */
  async endMoving(run: string, stranded: boolean): Promise<void> {
    await this.retried(undefined, async ({ pool, moving }) => {
      if (!moving.ok || moving.value?.run !== run) return;
      const lapsed = { ...moving.value, until: new Date().toISOString() };
      await this.annotate(pool, movingRecord(stranded ? lapsed : null));
    });
  }

  /**
   * Claims the restart the pool owes (or, `force`, a restart it does not owe) for `claim.run`,
   * unless another run's claim is in force. One patch; a conflict re-reads and asks again.
   */
  claimReload(
    seen: AddressPool | undefined,
    claim: Claim,
    force: boolean,
    startedAt: Date,
  ): Promise<ReloadClaimOutcome> {
    return this.retried(seen, async ({ pool, reload: debt, lastRestart }): Promise<ReloadClaimOutcome> => {
      if (!debt.owed && !force) return { kind: 'not-owed' };
      const paid = paidSince(lastRestart, startedAt);
      if (!debt.owed && paid !== undefined) return { kind: 'restarted', by: paid };
      const held = debt.owed ? debt.claim : undefined;
      const holder = holderOf(held, claim.run, new Date());
      if (holder === 'ours') return { kind: 'claimed', pool };
      if (holder === 'other' && held !== undefined) return { kind: 'held', by: held };
      const claimed = await this.annotate(pool, reloadOwedRecord({ owed: true, claim }, new Date()));
      return { kind: 'claimed', pool: claimed };
    });
  }

  /**
   * Ends `run`'s claim on the owed restart: cleared when MetalLB took the addresses, or (`owed`) left
   * as a debt open to the next run. `seen`: the pool as last read or written. A claim another run
   * took over since is left to it.
   */
  async settle(run: string, owed: boolean, seen?: AddressPool): Promise<void> {
    await this.retried(seen, async ({ pool, reload: debt }) => {
      if (!debt.owed || debt.claim?.run !== run) return;
      const paid: Restart = { run, at: debt.claim.since ?? new Date().toISOString() };
      await this.annotate(
        pool,
        owed ? reloadOwedRecord({ owed: true }, new Date()) : restartPaidRecord(paid),
      );
    });
  }

  /**
   * Puts back what `written` replaced; entries others added since stay. Says what it did: the pool
   * was restored, was already as before, or another sync wrote it since (then it is left to that
   * sync). `claim`: the restart the restored pool owes, claimed by the run that restores it. Throws
   * when it cannot.
   */
  async restore(written: Written, hosts: readonly HostRange[], claim: Claim): Promise<RestoreOutcome> {
    const record = previousRecord(written.before.metadata.annotations, { owed: true, claim }, new Date());
    // From our write's answer; when others wrote since, the conflict makes it read the pool again.
    return this.retried(written.after, async ({ pool, ownership }): Promise<RestoreOutcome> => {
      const ours =
        ownership.ok &&
        ownership.value.kind === 'recorded' &&
        sameList(ownership.value.entries, written.plan.owned);
      if (!ours) {
        // Put back exactly: our earlier restore's answer was lost, and it had been applied.
        if (sameList(pool.spec.addresses, written.before.spec.addresses)) return 'already-restored';
        // Another sync wrote its own plan over ours: undoing ours now would orphan its entries.
        return 'superseded';
      }
      await this.api.write(pool.metadata.resourceVersion, restoredAddresses(written, pool, hosts), record);
      return 'restored';
    });
  }

  /** A patch of the record only, at the resourceVersion `pool` was read at. */
  private annotate(pool: AddressPool, record: RecordPatch): Promise<AddressPool> {
    return this.api.write(pool.metadata.resourceVersion, pool.spec.addresses, record);
  }

  /** `attempt` on the pool as `seen` first, then as read again after each conflict. */
  private async retried<T>(
    seen: AddressPool | undefined,
    attempt: (state: PoolState) => Promise<T>,
  ): Promise<T> {
    try {
      return await retryOnConflict(async (conflicts) => {
        const state = conflicts === 0 && seen !== undefined ? stateOf(seen) : await this.read();
        return attempt(state);
      });
    } catch (error) {
      throw isConflict(error) ? gaveUp(this.label) : error;
    }
  }
}

/** The conflict that made a pool's writer give up. */
export const gaveUp = (label: string): ConflictError =>
  new ConflictError(label, ` ${String(MAX_CONFLICTS + 1)} times; giving up`);

/**
 * The addresses to restore: exactly the old ones if the pool is as we left it; otherwise our
 * entries swapped back for the previous owned ones, keeping whatever else someone changed.
 */
function restoredAddresses(written: Written, current: AddressPool, hosts: readonly HostRange[]): string[] {
  if (sameList(current.spec.addresses, written.plan.addresses)) return written.before.spec.addresses;
  const replanned = planPool({
    current: current.spec.addresses,
    ownership: { kind: 'recorded', entries: written.plan.owned },
    desired: written.plan.previouslyOwned,
    hosts,
  });
  if (!replanned.ok) throw new Error(replanned.error);
  return replanned.value.addresses;
}
