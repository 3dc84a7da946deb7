// Prometheus metrics of the long-lived modes (`run`, `serve`), derived from each run's result
// document alone: what a dashboard or an alert needs (is it failing, since when, at which stage,
// which prefix is in use, how often the pool and MetalLB were touched), nothing a result does not say.
import type { Registry } from 'prom-client';
import { succeeded, type SyncResult } from '../sync/result.js';

const PREFIX = 'metallb_dyn6_';

export interface SyncMetrics {
  readonly registry: Registry;
  /** Counts one finished run; `now` is when it finished. */
  observe(result: SyncResult, now?: Date): void;
}

/** How many times a run wrote the pool: a rollback writes it twice (the change, then the old addresses). */
export function poolWritesOf(result: SyncResult): number {
  if (result.status === 'updated') return 1;
  return result.status === 'rolled-back' ? 2 : 0;
}

/** Whether the run restarted MetalLB's pods (its report names the last reload action it took). */
export function restartsOf(result: SyncResult): number {
  return result.reload?.action === 'cycled' ? 1 : 0;
}

/**
 * Loads prom-client on first use: the bundle that runs a CronJob's single sync also holds `run` and
 * `serve`, and a cold start should not pay for a library only they use.
 */
export async function createSyncMetrics(options: { processMetrics: boolean }): Promise<SyncMetrics> {
  const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = await import('prom-client');
  const registry = new Registry();
  // Node's own (event loop lag, heap, CPU): what a home-lab dashboard shows beside the app's.
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const registers = [registry];
  const runs = new Counter({
    name: `${PREFIX}runs_total`,
    help: 'Finished runs by status, and by the stage where a failed or rolled-back run stopped',
    labelNames: ['status', 'stage'] as const,
    registers,
  });
  const lastSuccess = new Gauge({
    name: `${PREFIX}last_success_timestamp_seconds`,
    help: 'Unix time of the last run that left the pool right (unchanged, updated, joined or dry-run)',
    registers,
  });
  const prefix = new Gauge({
    name: `${PREFIX}prefix_info`,
    help: 'The prefix the pool follows since the last successful run (the value is always 1)',
    labelNames: ['prefix'] as const,
    registers,
  });
  const poolWrites = new Counter({
    name: `${PREFIX}pool_writes_total`,
    help: "Writes of the pool's addresses (a rollback counts its restoring write too)",
    registers,
  });
  const restarts = new Counter({
    name: `${PREFIX}metallb_restarts_total`,
    help: "Restarts of MetalLB's pods this process made",
    registers,
  });
  const apiRequests = new Counter({
    name: `${PREFIX}api_requests_total`,
    help: 'Kubernetes API requests made by runs',
    registers,
  });
  const duration = new Histogram({
    name: `${PREFIX}run_duration_seconds`,
    help: 'How long runs took, detection and any wait for MetalLB included',
    // A no-op takes a fraction of a second; a change that restarts MetalLB waits for its pods.
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  return {
    registry,
    observe(result, now = new Date()) {
      runs.inc({ status: result.status, stage: result.stage ?? '' });
      apiRequests.inc(result.apiRequests);
      duration.observe(result.durationMs / 1000);
      poolWrites.inc(poolWritesOf(result));
      restarts.inc(restartsOf(result));
      if (!succeeded(result)) return;
      lastSuccess.set(now.getTime() / 1000);
      if (result.prefix !== undefined) {
        prefix.reset();
        prefix.set({ prefix: result.prefix }, 1);
      }
    },
  };
}
