// `run`: the Rust tool's mode, a sync every --interval, with health probes and /metrics on --port
// for the Deployment that runs it.
import type { Config } from '../../lib/config/config.js';
import type { Logger } from '../../lib/log/logger.js';
import { createSyncMetrics } from '../../lib/metrics/sync-metrics.js';
import type { SyncResult } from '../../lib/sync/result.js';
import type { Syncer } from '../../lib/sync/syncer.js';
import { ALWAYS_HEALTHY, listenOrReport, type Health } from '../shared/http-server.js';
import { stopSignal } from './stop-signal.js';

/** Past its deadline a run has already been aborted; still going this much later, the loop is wedged. */
export const WEDGED_AFTER_DEADLINE_MS = 60_000;

export interface RunLoopOptions {
  port: number;
  log: Logger;
  print: (result: SyncResult) => void;
  report: (line: string) => void;
  now?: () => number;
}

/** Live unless a run has outlived its deadline by a margin (only a bug could make it). */
export function loopLiveness(
  deadlineMs: number,
  runningSince: () => number | undefined,
  now: () => number,
): Health {
  return {
    problem() {
      const since = runningSince();
      if (since === undefined || now() - since <= deadlineMs + WEDGED_AFTER_DEADLINE_MS) return undefined;
      return `a run started ${String(Math.round((now() - since) / 1000))} s ago, past its deadline of ${String(deadlineMs / 1000)} s`;
    },
  };
}

/**
 * Syncs every interval. A signal stops it at once, in the middle of a run too: requests are
 * cancelled, and a restart MetalLB is owed stays recorded in the pool for the next run.
 */
export async function runLoop(config: Config, syncer: Syncer, options: RunLoopOptions): Promise<number> {
  const now = options.now ?? Date.now;
  const stop = stopSignal();
  const metrics = await createSyncMetrics({ processMetrics: true });
  let runningSince: number | undefined;
  const server = await listenOrReport(options.port, options.report, options.log, {
    liveness: loopLiveness(config.deadlineMs, () => runningSince, now),
    // Metrics must stay scrapable while runs fail: readiness does not follow the runs' outcome.
    readiness: ALWAYS_HEALTHY,
    metrics: metrics.registry,
  });
  if (server === undefined) return 2;
  // Loaded by `run` alone: a one-off sync starts without it.
  const { setTimeout: sleep } = await import('node:timers/promises');
  while (!stop.aborted) {
    runningSince = now();
    const result = await syncer.sync({ trigger: 'interval' }, stop);
    runningSince = undefined;
    metrics.observe(result);
    options.print(result);
    // An aborted sleep is the stop itself: the loop's condition ends it.
    await sleep(config.intervalMs, undefined, { signal: stop }).catch(() => undefined);
  }
  server.close();
  return 0;
}
