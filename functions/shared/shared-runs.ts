// Calls that arrive while the same sync is running join it instead of starting another: a burst
// of invocations in one process makes one set of source and API requests.
import type { SyncRequest } from '../../lib/sync/sync.js';
import type { SyncResult } from '../../lib/sync/result.js';

/** What makes two requests the same sync (the trigger is only reported). */
const sameSync = (r: SyncRequest) =>
  JSON.stringify([r.answer?.raw ?? null, r.dryRun ?? null, r.force ?? null]);

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
