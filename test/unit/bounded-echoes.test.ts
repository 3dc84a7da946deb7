// What a run read and could not use comes back cut to 512 bytes, with its length named, on every
// output: the result document's error, the logs on stderr, the Event and the functions' HTTP body.
// Two annotations of 250 KB are the case in point (a record someone broke, or a manifest's paste).
import { describe, expect, it } from '@jest/globals';
import { handleHttp, type HttpApp } from '../../functions/shared/http-contract.js';
import { TickGate } from '../../functions/shared/tick-gate.js';
import type { Result } from '../../lib/errors/result.js';
import {
  OWNED_ANNOTATION,
  PREFIX_HISTORY_ANNOTATION,
  readOwnership,
  readPrefixHistory,
} from '../../lib/plan/pool-record.js';
import { agreeingAnswer } from '../../lib/source/agreement.js';
import { inMemoryCluster } from '../support/in-memory-cluster.js';
import { run } from '../support/in-memory-sync.js';
import { range, SUBNET_OLD } from '../support/sync-settings.js';

const V4 = '192.168.178.240/28';
const OLD = range(SUBNET_OLD);
/** 250 000 bytes that are not a JSON list. */
const HUGE = 'garbage '.repeat(31_250);
const CUT = `${JSON.stringify(HUGE.slice(0, 512))}… (250000 bytes in all)`;
const TOKEN = 'a-token-of-at-least-16-chars';

const failure = (read: Result<unknown>): string => {
  if (read.ok) throw new Error('read succeeded');
  return read.error;
};

describe('an unreadable annotation of 250 KB', () => {
  it('the ownership record is quoted for its first 512 bytes', () => {
    expect(failure(readOwnership({ [OWNED_ANNOTATION]: HUGE }))).toBe(
      `annotation ${OWNED_ANNOTATION} must be a JSON list of the pool entries metallb-dyn6 wrote, got ${CUT}; fix or remove it`,
    );
  });

  it('an entry of 250 KB in an otherwise readable ownership record is cut the same way', () => {
    const error = failure(readOwnership({ [OWNED_ANNOTATION]: JSON.stringify([OLD, HUGE]) }));
    expect(error).toBe(
      `annotation ${OWNED_ANNOTATION} names ${CUT}, which metallb-dyn6 cannot have written (it writes only global IPv6 ranges inside one /64); fix or remove the annotation`,
    );
  });

  it('the prefix history is quoted for its first 512 bytes', () => {
    expect(failure(readPrefixHistory({ [PREFIX_HISTORY_ANNOTATION]: HUGE }))).toBe(
      `annotation ${PREFIX_HISTORY_ANNOTATION} must be a JSON list of prefixes, got ${CUT}; fix or remove it`,
    );
  });

  it.each([
    ['ownership record', OWNED_ANNOTATION],
    ['prefix history', PREFIX_HISTORY_ANNOTATION],
  ])(
    'in the %s: the result, the logs, the Event and the HTTP 502 body stay under 1 KB',
    async (_what, annotation) => {
      const cluster = inMemoryCluster([V4, OLD], {
        annotations: { [OWNED_ANNOTATION]: JSON.stringify([OLD]), [annotation]: HUGE },
      });
      const { result, logs } = await run(cluster);
      expect(result).toMatchObject({ status: 'failed', stage: 'read' });
      expect(result.error).toContain(CUT);
      expect(Buffer.byteLength(result.error ?? '')).toBeLessThan(1024);
      // Every log line, as written to stderr.
      for (const line of logs) expect(Buffer.byteLength(JSON.stringify(line))).toBeLessThan(2048);
      expect(logs.some((l) => JSON.stringify(l).includes('250000 bytes in all'))).toBe(true);
      expect(cluster.events.events.map((e) => e.message)).toEqual([result.error]);

      const app: HttpApp = {
        token: TOKEN,
        problems: [],
        ticks: new TickGate(0),
        sync: async (request) => (await run(cluster, { request })).result,
      };
      const response = await handleHttp(
        { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: undefined },
        app,
      );
      expect(response.statusCode).toBe(502);
      expect(response.body['error']).toContain(CUT);
      expect(Buffer.byteLength(JSON.stringify(response.body))).toBeLessThan(2048);
    },
  );
});

describe('addresses a source or the cluster lists', () => {
  it('a thousand that disagree are quoted for their first 512 bytes', () => {
    const addresses = Array.from({ length: 1000 }, (_, i) => `2a02:8071:${(0x1000 + i).toString(16)}::1`);
    const all = addresses.join(', ');
    let message = '';
    try {
      agreeingAnswer('kubernetes-nodes', addresses, 48);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      `source kubernetes-nodes: addresses disagree on the /48 prefix: ${all.slice(0, 512)}… (${String(all.length)} bytes in all)`,
    );
  });
});
