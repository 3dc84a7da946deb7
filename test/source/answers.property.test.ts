import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { jsonLogger } from '../../lib/log/logger.js';
import { notGlobalUnicast } from '../../lib/prefix/ipv6.js';
import { parseAnswer } from '../../lib/source/answer.js';
import { SourceError } from '../../lib/source/source.js';
import { urlSource } from '../../lib/source/url.js';
import { syncOnce } from '../../lib/sync/sync.js';
import { auditTrail } from '../harness/shared-cluster.js';
import { startHttpStub } from '../support/http-stub.js';
import { homeCluster, syncSettings, syncTargetFor } from '../support/sync-fixture.js';

const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
/** Things sources really send back, and worse. */
const answerArb = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc.ipV4(),
  fc.ipV6(),
  fc.tuple(fc.ipV6(), fc.integer({ min: -5, max: 200 })).map(([a, n]) => `${a}/${String(n)}`),
  fc.tuple(hex, hex).map(([a, b]) => `fd${a.padStart(2, '0').slice(0, 2)}:${b}::1`),
  fc.tuple(hex, hex).map(([a, b]) => `fe80::${a}:${b}`),
  fc.constantFrom(
    '<!DOCTYPE html><html></html>',
    '',
    '   ',
    '2a02:8071:1234:5678::1%eth0',
    '::ffff:192.0.2.1',
    '2001:db8::1',
    '{"ip":"2a02::1"}',
  ),
);

describe('arbitrary source answers', () => {
  it('never crash the validation: a global unicast answer or a SourceError, nothing else', () => {
    fc.assert(
      fc.property(answerArb, (text) => {
        try {
          const answer = parseAnswer('fuzz', text);
          expect(notGlobalUnicast(answer.address)).toBeUndefined();
        } catch (error) {
          expect(error).toBeInstanceOf(SourceError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never lead to a write when invalid (through the real apiserver)', async () => {
    const home = await homeCluster('fuzz');
    // One real HTTP stub whose answer each run replaces.
    const routes = { '/ip': { body: '' } };
    const live = await startHttpStub(routes);
    let validRuns = 0;
    try {
      await fc.assert(
        fc.asyncProperty(answerArb, async (text) => {
          routes['/ip'].body = text;
          const before = (await home.readPool()).metadata.resourceVersion;
          const result = await syncOnce(
            syncSettings({ detectDeadlineMs: 5000, reload: 'never' }),
            urlSource(`${live.url}/ip`, { timeoutMs: 1000, retries: 0 }),
            syncTargetFor(home),
            jsonLogger('error', () => undefined),
          );
          let valid = true;
          try {
            parseAnswer('fuzz', text);
          } catch {
            valid = false;
          }
          if (!valid) {
            expect(result.status).toBe('failed');
            expect(result.apiRequests).toBe(0);
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
    // The apiserver saw no more writes than there were valid answers.
    const writes = (await auditTrail(home.username)).filter((t) => t.startsWith('patch')).length;
    expect(writes).toBeLessThanOrEqual(validRuns);
  });
});
