// Calls that arrive while the same sync is running join it instead of starting another: a burst
// of invocations in one process makes one set of source and API requests. Runs in other processes
// meet through the claims on the pool (lib/plan/claims.ts) instead.
import { networkOf } from '../../lib/prefix/ipv6.js';
import type { SourceAnswer } from '../../lib/source/source.js';
import type { SyncRequest } from '../../lib/sync/sync-once.js';
import type { SyncResult } from '../../lib/sync/result.js';

/** A pushed prefix however it was spelled (`…56cd::0/64`, `…56CD::27/64`): its network and length. */
function canonical(answer: SourceAnswer | undefined): string | null {
  if (answer === undefined) return null;
  const length = answer.prefixLength ?? 128;
  return `${networkOf(answer.address, length).toString()}/${String(length)}`;
}

/** What makes two requests the same sync (the trigger is only reported). */
const sameSync = (r: SyncRequest) => JSON.stringify([canonical(r.answer), r.dryRun ?? null, r.force ?? null]);

export function sharingRuns(
  sync: (request: SyncRequest) => Promise<SyncResult>,
): (request: SyncRequest) => Promise<SyncResult> {
  const running = new Map<string, Promise<SyncResult>>();
  return (request) => {
    const key = sameSync(request);
    const joined = running.get(key);
    if (joined !== undefined) return joined;
    const started = sync(request).finally(() => running.delete(key));
    running.set(key, started);
    return started;
  };
}
