// Optimistic concurrency, one rule for every write that can lose a race (the pool's patches, the
// Services' pins, a whole sync's read-plan-write): each patch carries the resourceVersion it was
// planned from, the apiserver refuses it (409) if anyone wrote in between, and the step is tried
// again on a fresh read. Nobody's edit is ever overwritten, and a loser gives up after a few tries.
import { ClusterError } from './api-error.js';

/** Conflicts tolerated before giving up: the first attempt and this many more. */
export const MAX_CONFLICTS = 3;

/** An attempt's outcome: what it returned or what it threw. */
export type Attempted<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A write the apiserver refused because the object changed since it was read. */
export const isConflict = (error: unknown): boolean => error instanceof ClusterError && error.status === 409;

/** The attempt threw a conflict: the usual case, for steps that throw. */
export const threwConflict = <T>(outcome: Attempted<T>): boolean => !outcome.ok && isConflict(outcome.error);

/**
 * Runs `attempt` (told how many conflicts came before, so that it reads afresh after one) until it
 * meets no conflict, at most MAX_CONFLICTS + 1 times; then returns or throws what the last attempt did.
 */
export async function retryOnConflict<T>(
  attempt: (conflicts: number) => Promise<T>,
  conflicted: (outcome: Attempted<T>) => boolean = threwConflict,
  onConflict?: (conflicts: number) => void,
): Promise<T> {
  for (let conflicts = 0; ; conflicts++) {
    let outcome: Attempted<T>;
    try {
      outcome = { ok: true, value: await attempt(conflicts) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (conflicts === MAX_CONFLICTS || !conflicted(outcome)) {
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    }
    onConflict?.(conflicts + 1);
  }
}
