import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { jsonLogger } from '../../../lib/log/logger.js';
import { SHORTEST_DELEGATION } from '../../../lib/prefix/subnet.js';
import { urlSource } from '../../../lib/source/url.js';
import { syncOnce } from '../../../lib/sync/sync-once.js';
import { auditSettled } from '../../../devcluster/shared-cluster.js';
import { startHttpStub } from '../../support/http-stub.js';
import { answerCaseArb } from '../../support/ipv6-oracle.js';
import { homeCluster, syncTargetFor } from '../../../devcluster/home-cluster.js';
import { syncSettings } from '../../support/sync-settings.js';

describe('arbitrary source answers', () => {
  it('never lead to a write when invalid (through the real apiserver)', async () => {
    const home = await homeCluster('fuzz');
    // One real HTTP stub whose answer each run replaces.
    const routes = { '/ip': { body: '' } };
    const live = await startHttpStub(routes);
    let validRuns = 0;
    try {
      await fc.assert(
        fc.asyncProperty(answerCaseArb, async ({ text, valid: parses, prefixLength }) => {
          // Usable: an answer parseAnswer takes, no shorter than a delegation can be.
          const valid = parses && (prefixLength === undefined || prefixLength >= SHORTEST_DELEGATION);
          routes['/ip'].body = text;
          const before = (await home.readPool()).metadata.resourceVersion;
          const result = await syncOnce(
            syncSettings({ detectDeadlineMs: 5000, reload: 'never' }),
            urlSource(`${live.url}/ip`, { timeoutMs: 1000, retries: 0 }),
            syncTargetFor(home),
            jsonLogger('error', () => undefined),
          );
          if (!valid) {
            expect(result.status).toBe('failed');
            // Only the Warning Event saying why: the pool is neither read nor written.
            expect(result.apiRequests).toBe(1);
            expect((await home.readPool()).metadata.resourceVersion).toBe(before);
          } else {
            validRuns++;
            expect(['updated', 'unchanged']).toContain(result.status);
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      await live.close();
    }
    // The apiserver saw no more writes than there were valid answers; it did see each valid run read
    // the pool, so the trail is the runs' own and not empty for want of a log.
    const trail = await auditSettled(home);
    expect(trail.filter((t) => t === 'get ipaddresspools 200').length).toBeGreaterThanOrEqual(validRuns);
    expect(trail.filter((t) => t.startsWith('patch')).length).toBeLessThanOrEqual(validRuns);
  });
});
