// The metrics are read from result documents alone: each case feeds results and reads the
// exposition Prometheus would scrape.
import { describe, expect, it } from '@jest/globals';
import { createSyncMetrics, poolWritesOf, restartsOf } from '../../lib/metrics/sync-metrics.js';
import type { SyncResult } from '../../lib/sync/result.js';

const result = (overrides: Partial<SyncResult>): SyncResult => ({
  status: 'unchanged',
  pool: 'metallb-system/ipv6-pool',
  apiRequests: 1,
  durationMs: 40,
  ...overrides,
});

/** The value of one sample line, e.g. `metallb_dyn6_runs_total{status="updated",stage=""}`. */
async function sample(
  metrics: Awaited<ReturnType<typeof createSyncMetrics>>,
  series: string,
): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('sync metrics', () => {
  it('counts runs by status and by the stage a failed one stopped at', async () => {
    const metrics = await createSyncMetrics({ processMetrics: false });
    metrics.observe(result({ status: 'updated' }));
    metrics.observe(result({ status: 'updated' }));
    metrics.observe(result({ status: 'failed', stage: 'detect', error: 'no answer' }));
    expect(await sample(metrics, 'metallb_dyn6_runs_total{status="updated",stage=""}')).toBe(2);
    expect(await sample(metrics, 'metallb_dyn6_runs_total{status="failed",stage="detect"}')).toBe(1);
  });

  it('sets the time of the last success and the prefix in use, and keeps both through a failure', async () => {
    const metrics = await createSyncMetrics({ processMetrics: false });
    metrics.observe(result({ prefix: '2001:db8:aaaa::/64' }), new Date(1_800_000_000_000));
    metrics.observe(result({ status: 'updated', prefix: '2001:db8:bbbb::/64' }), new Date(1_800_000_060_000));
    metrics.observe(
      result({ status: 'failed', stage: 'write', prefix: '2001:db8:cccc::/64' }),
      new Date(1_800_000_120_000),
    );
    expect(await sample(metrics, 'metallb_dyn6_last_success_timestamp_seconds')).toBe(1_800_000_060);
    expect(await sample(metrics, 'metallb_dyn6_prefix_info{prefix="2001:db8:bbbb::/64"}')).toBe(1);
    // The old prefix is gone from the exposition: one series, the prefix in use.
    expect(await sample(metrics, 'metallb_dyn6_prefix_info{prefix="2001:db8:aaaa::/64"}')).toBeUndefined();
    expect(await sample(metrics, 'metallb_dyn6_prefix_info{prefix="2001:db8:cccc::/64"}')).toBeUndefined();
  });

  it('has no last success and no prefix before the first successful run', async () => {
    const metrics = await createSyncMetrics({ processMetrics: false });
    metrics.observe(result({ status: 'failed', stage: 'config' }));
    expect(await sample(metrics, 'metallb_dyn6_last_success_timestamp_seconds')).toBe(0);
    expect((await metrics.registry.metrics()).includes('metallb_dyn6_prefix_info{')).toBe(false);
  });

  it('adds pool writes, MetalLB restarts, API requests and durations', async () => {
    const metrics = await createSyncMetrics({ processMetrics: false });
    metrics.observe(
      result({
        status: 'updated',
        apiRequests: 9,
        durationMs: 3_000,
        reload: { strategy: 'auto', action: 'cycled', reason: 'MetalLB 0.13.12' },
      }),
    );
    metrics.observe(
      result({
        status: 'rolled-back',
        stage: 'reload',
        apiRequests: 20,
        durationMs: 120_000,
        reload: { strategy: 'auto', action: 'failed', reason: 'not Ready' },
      }),
    );
    metrics.observe(result({ apiRequests: 1, durationMs: 80 }));
    expect(await sample(metrics, 'metallb_dyn6_pool_writes_total')).toBe(3);
    expect(await sample(metrics, 'metallb_dyn6_metallb_restarts_total')).toBe(1);
    expect(await sample(metrics, 'metallb_dyn6_api_requests_total')).toBe(30);
    expect(await sample(metrics, 'metallb_dyn6_run_duration_seconds_count')).toBe(3);
    expect(await sample(metrics, 'metallb_dyn6_run_duration_seconds_sum')).toBeCloseTo(123.08);
    expect(await sample(metrics, 'metallb_dyn6_run_duration_seconds_bucket{le="0.1"}')).toBe(1);
  });

  it('derives writes and restarts from the status and the reload action only', () => {
    expect(poolWritesOf(result({ status: 'updated' }))).toBe(1);
    expect(poolWritesOf(result({ status: 'rolled-back' }))).toBe(2);
    for (const status of ['unchanged', 'joined', 'dry-run', 'failed'] as const)
      expect(poolWritesOf(result({ status }))).toBe(0);
    expect(restartsOf(result({ reload: { strategy: 'always', action: 'cycled', reason: '' } }))).toBe(1);
    for (const action of ['none', 'skipped', 'failed'] as const)
      expect(restartsOf(result({ reload: { strategy: 'always', action, reason: '' } }))).toBe(0);
    expect(restartsOf(result({}))).toBe(0);
  });

  it("adds Node's process metrics only when asked (the long-lived modes)", async () => {
    const withProcess = await (await createSyncMetrics({ processMetrics: true })).registry.metrics();
    const without = await (await createSyncMetrics({ processMetrics: false })).registry.metrics();
    expect(withProcess).toContain('metallb_dyn6_process_resident_memory_bytes');
    expect(without).not.toContain('process_');
  });
});
