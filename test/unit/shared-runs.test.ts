// Which calls share a sync: only those asking for the same thing.
import { describe, expect, it } from '@jest/globals';
import { sharingRuns } from '../../functions/shared/shared-runs.js';
import { parseAnswer } from '../../lib/source/answer.js';
import type { SyncResult } from '../../lib/sync/result.js';
import type { SyncRequest } from '../../lib/sync/sync-once.js';

describe('shared runs', () => {
  it('a dry run, a forced run and a push never join a plain run, nor each other', async () => {
    const started: SyncRequest[] = [];
    const waiting: (() => void)[] = [];
    const sync = sharingRuns(async (request) => {
      started.push(request);
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
      });
      return { status: 'updated', pool: 'p', apiRequests: 1, durationMs: 1 } satisfies SyncResult;
    });
    const calls = [
      sync({}),
      sync({ dryRun: true }),
      sync({ dryRun: false }),
      sync({ force: true }),
      sync({ force: false }),
      sync({ answer: parseAnswer('push', '2a02:8071:1234::/48') }),
      sync({ answer: parseAnswer('push', '2a02:8071:1235::/48') }),
      // These two repeat requests already running.
      sync({ trigger: 'schedule' }),
      sync({ dryRun: true, trigger: 'http' }),
    ];
    expect(started).toHaveLength(7);
    for (const finish of waiting.splice(0)) finish();
    await Promise.all(calls);
  });

  it('a prefix pushed in any spelling joins the run for the same network; another network or length does not', async () => {
    let started = 0;
    const waiting: (() => void)[] = [];
    const sync = sharingRuns(async () => {
      started++;
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
      });
      return { status: 'updated', pool: 'p', apiRequests: 1, durationMs: 1 } satisfies SyncResult;
    });
    const push = (text: string) => sync({ answer: parseAnswer('push', text), trigger: 'http-push' });
    const spellings = Array.from({ length: 40 }, (_, i) => `2a02:8071:1234:56cd::${i.toString(16)}/64`);
    const calls = [
      ...spellings.map(push),
      push('2A02:8071:1234:56CD:0:0:0:0/64'),
      push('2a02:8071:1234:56cd:0::ffff/64'),
    ];
    expect(started).toBe(1);
    const others = [push('2a02:8071:1234:56ce::/64'), push('2a02:8071:1234:56cd::/56')];
    expect(started).toBe(3);
    for (const finish of waiting.splice(0)) finish();
    const results = await Promise.all(calls);
    expect(new Set(results).size).toBe(1);
    await Promise.all(others);
  });
});
