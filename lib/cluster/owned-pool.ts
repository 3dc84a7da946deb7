// The pool together with its ownership record (external-dns's registry): the one place that reads,
// writes and restores what metallb-dyn6 owns in the pool. The record travels in the same patch as
// the addresses, so the two never disagree, and every patch carries the resourceVersion it was
// planned from: a concurrent edit makes it fail (409), and the step is re-planned on a fresh read.
import type { Result } from '../errors/result.js';
import { planPool, type Plan } from '../plan/plan.js';
import { previousRecord, readOwnership, recordAnnotations, type OwnershipRecord } from '../plan/registry.js';
import type { HostRange } from '../prefix/host-range.js';
import { ConflictError, type Pool, type PoolApi } from './pool-client.js';

/** Conflicts tolerated in one write or restore before giving up. */
export const MAX_CONFLICTS = 3;

export interface PoolState {
  pool: Pool;
  /** A record someone broke is a failure: nothing may be planned from it. */
  ownership: Result<OwnershipRecord>;
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
  /**
   * Calls `attempt` with the pool as it is now. When a write inside it meets a conflict, reads the
   * pool again and calls it again; after MAX_CONFLICTS conflicts the ConflictError stands.
   */
  update<T>(attempt: (state: PoolState) => Promise<T>, onConflict?: (conflicts: number) => void): Promise<T>;
  /** Writes a plan's addresses and ownership record onto the pool it was planned from. */
  write(from: Pool, plan: Plan, prefix: string): Promise<Written>;
  /** Puts back what `written` replaced; entries others added since stay. Throws when it cannot. */
  restore(written: Written, hosts: readonly HostRange[]): Promise<void>;
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export class OwnedPool implements PoolStore {
  constructor(private readonly api: PoolApi) {}

  get name(): string {
    return `${this.api.ref.namespace}/${this.api.ref.name}`;
  }

  update<T>(attempt: (state: PoolState) => Promise<T>, onConflict?: (conflicts: number) => void): Promise<T> {
    const withRecord = (pool: Pool) => attempt({ pool, ownership: readOwnership(pool.metadata.annotations) });
    return this.retryOnConflict(undefined, withRecord, onConflict);
  }

  async write(from: Pool, plan: Plan, prefix: string): Promise<Written> {
    const after = await this.api.write(
      from.metadata.resourceVersion,
      plan.addresses,
      recordAnnotations(plan.owned, prefix, new Date()),
    );
    return { before: from, after, plan };
  }

  async restore(written: Written, hosts: readonly HostRange[]): Promise<void> {
    const record = previousRecord(written.before.metadata.annotations);
    await this.retryOnConflict(written.after, async (current) => {
      await this.api.write(
        current.metadata.resourceVersion,
        restoredAddresses(written, current, hosts),
        record,
      );
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
