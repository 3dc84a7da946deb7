// The pool together with its ownership record (external-dns's registry): the one place that reads,
// writes and restores what metallb-dyn6 owns in the pool. The record travels in the same patch as
// the addresses, so the two never disagree, and every patch carries the resourceVersion it was
// planned from: a concurrent edit makes it fail (409), and the step is re-planned on a fresh read.
import type { Result } from '../errors/result.js';
import { planPool, type Plan } from '../plan/plan.js';
import {
  previousRecord,
  readOwnership,
  recordAnnotations,
  RELOAD_OWED_ANNOTATION,
  reloadOwed,
  type OwnershipRecord,
} from '../plan/registry.js';
import type { HostRange } from '../prefix/host-range.js';
import { ConflictError, type Pool, type PoolApi, type PoolRef } from './pool-client.js';

/** Conflicts tolerated in one write or restore before giving up. */
export const MAX_CONFLICTS = 3;

export interface PoolState {
  pool: Pool;
  /** A record someone broke is a failure: nothing may be planned from it. */
  ownership: Result<OwnershipRecord>;
  /** An earlier run wrote addresses MetalLB has not been restarted to take. */
  reloadOwed: boolean;
}

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
  write(
    from: Pool,
    plan: Plan,
    prefix: string,
    reloadOwed: boolean,
    history: readonly string[],
  ): Promise<Written>;
  /** Clears the owed-reload mark: MetalLB took the addresses. `seen`: the pool as last read or written. */
  settle(seen?: Pool): Promise<void>;
  /**
   * Puts back what `written` replaced; entries others added since stay. Says what it did: the pool
   * was restored, was already as before, or another sync wrote it since (then it is left to that
   * sync). Throws when it cannot.
   */
  restore(written: Written, hosts: readonly HostRange[], reloadOwed: boolean): Promise<RestoreOutcome>;
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
        reloadOwed: reloadOwed(pool.metadata.annotations),
      });
    return this.retryOnConflict(undefined, withRecord, onConflict);
  }

  async write(
    from: Pool,
    plan: Plan,
    prefix: string,
    owed: boolean,
    history: readonly string[],
  ): Promise<Written> {
    const after = await this.api.write(
      from.metadata.resourceVersion,
      plan.addresses,
      recordAnnotations(plan.owned, prefix, new Date(), owed, history),
    );
    return { before: from, after, plan };
  }

  async settle(seen?: Pool): Promise<void> {
    await this.retryOnConflict(seen, async (current) => {
      if (!reloadOwed(current.metadata.annotations)) return;
      await this.api.write(current.metadata.resourceVersion, current.spec.addresses, {
        [RELOAD_OWED_ANNOTATION]: null,
      });
    });
  }

  async restore(written: Written, hosts: readonly HostRange[], owed: boolean): Promise<RestoreOutcome> {
    const record = {
      ...previousRecord(written.before.metadata.annotations),
      [RELOAD_OWED_ANNOTATION]: owed ? new Date().toISOString() : null,
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
