// The pool together with its ownership record (external-dns's registry): the one place that reads,
// writes and restores what metallb-dyn6 owns in the pool. The record travels in the same patch as
// the addresses, so the two never disagree, and every patch carries the resourceVersion it was
// planned from: a concurrent edit makes it fail (409), and the step is re-planned on a fresh read.
import type { Result } from '../errors/result.js';
import {
  holderOf,
  readReloadDebt,
  readServicesMoving,
  reloadMark,
  restartSince,
  servicesMovingText,
  type Claim,
  type ReloadDebt,
  type Restart,
  type ServicesMoving,
} from '../plan/claims.js';
import { planPool, type Plan } from '../plan/plan.js';
import {
  previousRecord,
  readOwnership,
  recordAnnotations,
  LAST_RESTART_ANNOTATION,
  RELOAD_OWED_ANNOTATION,
  SERVICES_MOVING_ANNOTATION,
  type OwnershipRecord,
  type WriteRecord,
} from '../plan/registry.js';
import type { HostRange } from '../prefix/host-range.js';
import { ConflictError, type Pool, type PoolApi, type PoolRef } from './pool-client.js';

/** Conflicts tolerated in one write or restore before giving up. */
export const MAX_CONFLICTS = 3;

export interface PoolState {
  pool: Pool;
  /** A record someone broke is a failure: nothing may be planned from it. */
  ownership: Result<OwnershipRecord>;
  /** A restart of MetalLB the pool owes, and which run (if any) has claimed it. */
  reload: ReloadDebt;
  /** A Services move under way or left unfinished; a broken record is a failure. */
  moving: Result<ServicesMoving | undefined>;
}

/** What asking for the owed restart gave: it is this run's to make, another run's, or not owed. */
export type ReloadClaimOutcome =
  | { kind: 'claimed'; pool: Pool }
  | { kind: 'held'; by: Claim }
  | { kind: 'restarted'; by: Restart }
  | { kind: 'not-owed' };

/** One committed write: enough to put it back. */
export interface Written {
  before: Pool;
  after: Pool;
  plan: Plan;
}

export interface PoolStore {
  /** namespace/name, for reports. */
  readonly name: string;
  readonly ref: PoolRef;
  /**
   * Calls `attempt` with the pool as it is now. When a write inside it meets a conflict, reads the
   * pool again and calls it again; after MAX_CONFLICTS conflicts the ConflictError stands.
   */
  update<T>(attempt: (state: PoolState) => Promise<T>, onConflict?: (conflicts: number) => void): Promise<T>;
  /**
   * Writes a plan's addresses and ownership record (with the reload it owes and the prefixes the
   * pool has been on) onto the pool it was planned from.
   */
  write(from: Pool, plan: Plan, record: Omit<WriteRecord, 'owned' | 'now'>): Promise<Written>;
  /**
   * Records, on the pool as planned from, that the Services are being moved (null: a lapsed record
   * was dealt with); returns the pool after.
   */
  recordMoving(from: Pool, moving: ServicesMoving | null): Promise<Pool>;
  /**
   * Ends `run`'s record of a Services move without a write of the addresses: removes it, or, when
   * Services were left on the moved-to prefix (`stranded`), leaves it for the next run to repair,
   * lapsed at once. A record that is not `run`'s is left alone.
   */
  endMoving(run: string, stranded: boolean): Promise<void>;
  /**
   * Claims the restart the pool owes (or, `force`, a restart it does not owe) for `claim.run`,
   * unless another run's claim is in force. One patch; a conflict re-reads and asks again.
   */
  claimReload(
    seen: Pool | undefined,
    claim: Claim,
    force: boolean,
    startedAt: Date,
  ): Promise<ReloadClaimOutcome>;
  /**
   * Ends `run`'s claim on the owed restart: cleared when MetalLB took the addresses, or (`owed`) left
   * as a debt open to the next run. `seen`: the pool as last read or written. A claim another run
   * took over since is left to it.
   */
  settle(run: string, owed: boolean, seen?: Pool): Promise<void>;
  /**
   * Puts back what `written` replaced; entries others added since stay. Says what it did: the pool
   * was restored, was already as before, or another sync wrote it since (then it is left to that
   * sync). `reloadMark`: the restart the restored pool owes. Throws when it cannot.
   */
  restore(written: Written, hosts: readonly HostRange[], reloadMark: string): Promise<RestoreOutcome>;
}

export type RestoreOutcome = 'restored' | 'already-restored' | 'superseded';

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export class OwnedPool implements PoolStore {
  constructor(private readonly api: PoolApi) {}

  get name(): string {
    return `${this.api.ref.namespace}/${this.api.ref.name}`;
  }

  get ref(): PoolRef {
    return this.api.ref;
  }

  update<T>(attempt: (state: PoolState) => Promise<T>, onConflict?: (conflicts: number) => void): Promise<T> {
    const withRecord = (pool: Pool) =>
      attempt({
        pool,
        ownership: readOwnership(pool.metadata.annotations),
        reload: readReloadDebt(pool.metadata.annotations?.[RELOAD_OWED_ANNOTATION]),
        moving: readServicesMoving(
          pool.metadata.annotations?.[SERVICES_MOVING_ANNOTATION],
          SERVICES_MOVING_ANNOTATION,
        ),
      });
    return this.retryOnConflict(undefined, withRecord, onConflict);
  }

  async write(from: Pool, plan: Plan, record: Omit<WriteRecord, 'owned' | 'now'>): Promise<Written> {
    const after = await this.api.write(
      from.metadata.resourceVersion,
      plan.addresses,
      recordAnnotations({ ...record, owned: plan.owned, now: new Date() }),
    );
    return { before: from, after, plan };
  }

  recordMoving(from: Pool, moving: ServicesMoving | null): Promise<Pool> {
    return this.annotate(from, {
      [SERVICES_MOVING_ANNOTATION]: moving === null ? null : servicesMovingText(moving),
    });
  }

  async endMoving(run: string, stranded: boolean): Promise<void> {
    await this.retryOnConflict(undefined, async (current) => {
      const moving = this.movingOf(current);
      if (moving?.run !== run) return;
      const lapsed = { ...moving, until: new Date().toISOString() };
      await this.annotate(current, {
        [SERVICES_MOVING_ANNOTATION]: stranded ? servicesMovingText(lapsed) : null,
      });
    });
  }

  claimReload(
    seen: Pool | undefined,
    claim: Claim,
    force: boolean,
    startedAt: Date,
  ): Promise<ReloadClaimOutcome> {
    return this.retryOnConflict(seen, async (current): Promise<ReloadClaimOutcome> => {
      const debt = readReloadDebt(current.metadata.annotations?.[RELOAD_OWED_ANNOTATION]);
      if (!debt.owed && !force) return { kind: 'not-owed' };
      const paid = restartSince(current.metadata.annotations?.[LAST_RESTART_ANNOTATION], startedAt);
      if (!debt.owed && paid !== undefined) return { kind: 'restarted', by: paid };
      const held = debt.owed ? debt.claim : undefined;
      const holder = holderOf(held, claim.run, new Date());
      if (holder === 'ours') return { kind: 'claimed', pool: current };
      if (holder === 'other' && held !== undefined) return { kind: 'held', by: held };
      const pool = await this.annotate(current, { [RELOAD_OWED_ANNOTATION]: JSON.stringify(claim) });
      return { kind: 'claimed', pool };
    });
  }

  async settle(run: string, owed: boolean, seen?: Pool): Promise<void> {
    await this.retryOnConflict(seen, async (current) => {
      const debt = readReloadDebt(current.metadata.annotations?.[RELOAD_OWED_ANNOTATION]);
      if (!debt.owed || debt.claim?.run !== run) return;
      const paid = { run, at: debt.claim.since ?? new Date().toISOString() };
      await this.annotate(
        current,
        owed
          ? { [RELOAD_OWED_ANNOTATION]: reloadMark(undefined, new Date()) }
          : { [RELOAD_OWED_ANNOTATION]: null, [LAST_RESTART_ANNOTATION]: JSON.stringify(paid) },
      );
    });
  }

  async restore(written: Written, hosts: readonly HostRange[], reloadMark: string): Promise<RestoreOutcome> {
    const record = {
      ...previousRecord(written.before.metadata.annotations),
      [RELOAD_OWED_ANNOTATION]: reloadMark,
    };
    // From our write's answer; when others wrote since, the conflict makes it read the pool again.
    return this.retryOnConflict(written.after, async (current): Promise<RestoreOutcome> => {
      const owner = readOwnership(current.metadata.annotations);
      const ours =
        owner.ok && owner.value.kind === 'recorded' && sameList(owner.value.entries, written.plan.owned);
      if (!ours) {
        // Put back exactly: our earlier restore's answer was lost, and it had been applied.
        if (sameList(current.spec.addresses, written.before.spec.addresses)) return 'already-restored';
        // Another sync wrote its own plan over ours: undoing ours now would orphan its entries.
        return 'superseded';
      }
      await this.api.write(
        current.metadata.resourceVersion,
        restoredAddresses(written, current, hosts),
        record,
      );
      return 'restored';
    });
  }

  private movingOf(pool: Pool): ServicesMoving | undefined {
    const moving = readServicesMoving(
      pool.metadata.annotations?.[SERVICES_MOVING_ANNOTATION],
      SERVICES_MOVING_ANNOTATION,
    );
    return moving.ok ? moving.value : undefined;
  }

  /** A patch of annotations only, at the resourceVersion `pool` was read at. */
  private annotate(pool: Pool, annotations: Record<string, string | null>): Promise<Pool> {
    return this.api.write(pool.metadata.resourceVersion, pool.spec.addresses, annotations);
  }

  private async retryOnConflict<T>(
    seen: Pool | undefined,
    attempt: (pool: Pool) => Promise<T>,
    onConflict?: (conflicts: number) => void,
  ): Promise<T> {
    let pool = seen ?? (await this.api.read());
    for (let conflicts = 1; ; conflicts++) {
      try {
        return await attempt(pool);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        if (conflicts > MAX_CONFLICTS)
          throw new ConflictError(this.api.ref, ` ${String(conflicts)} times; giving up`);
        onConflict?.(conflicts);
        pool = await this.api.read();
      }
    }
  }
}

/**
 * The addresses to restore: exactly the old ones if the pool is as we left it; otherwise our
 * entries swapped back for the previous owned ones, keeping whatever else someone changed.
 */
function restoredAddresses(written: Written, current: Pool, hosts: readonly HostRange[]): string[] {
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
