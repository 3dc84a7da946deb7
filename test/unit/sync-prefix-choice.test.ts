// A source that sees several prefixes in use (a renumbering the router does not deprecate): the sync
// takes the one new to the pool, never moves back to one it left, and refuses two strangers.
import { describe, expect, it } from '@jest/globals';

import {
  LAST_PREFIX_ANNOTATION,
  OWNED_ANNOTATION,
  PREFIX_HISTORY_ANNOTATION,
} from '../../lib/plan/pool-record.js';
import { parseAnswer } from '../../lib/source/answer.js';
import { parseCidr, withinSource } from '../../lib/source/combinators.js';
import type { PrefixSource } from '../../lib/source/source.js';
import { inMemoryCluster } from '../support/in-memory-cluster.js';
import { run } from '../support/in-memory-sync.js';
import { range as hostRange, SUBNET_NEW, SUBNET_OLD } from '../support/sync-settings.js';

const V4 = '192.168.178.240/28';
const OTHER = '2a02:8071:9999:1200';
/** A host with these prefixes in use, in this (numeric) order, as the interface source reports it. */
const inUse = (...subnets: string[]): PrefixSource => ({
  name: 'interface',
  detect: () => {
    const [first, ...others] = subnets.map((s) => parseAnswer('interface', `${s}::10`));
    if (first === undefined) throw new Error('no subnet');
    return Promise.resolve({ ...first, ...(others.length === 0 ? {} : { alternatives: others }) });
  },
});
const onOld = () =>
  inMemoryCluster([V4, hostRange(SUBNET_OLD)], {
    annotations: {
      [OWNED_ANNOTATION]: JSON.stringify([hostRange(SUBNET_OLD)]),
      [LAST_PREFIX_ANNOTATION]: `${SUBNET_OLD}::/64`,
    },
    metallbVersion: 'v0.14.9',
  });

describe('choosing among the prefixes in use', () => {
  it.each([
    ['lower', [SUBNET_OLD, SUBNET_NEW]],
    ['higher', [SUBNET_NEW, SUBNET_OLD]],
  ])(
    'the old prefix still preferred and numerically %s: one sync moves to the new one, the next is a no-op',
    async (_, order) => {
      const cluster = onOld();
      const first = await run(cluster, { source: inUse(...order) });
      expect(first.result).toMatchObject({
        status: 'updated',
        prefix: `${SUBNET_NEW}::/64`,
        after: [V4, hostRange(SUBNET_NEW)],
      });
      expect(cluster.pool.stored.metadata.annotations?.[PREFIX_HISTORY_ANNOTATION]).toBe(
        JSON.stringify([`${SUBNET_OLD}::/64`, `${SUBNET_NEW}::/64`]),
      );
      const second = await run(cluster, { source: inUse(...order) });
      expect(second.result).toMatchObject({ status: 'unchanged', prefix: `${SUBNET_NEW}::/64` });
      // The old prefix expires: still no move.
      const third = await run(cluster, { source: inUse(SUBNET_NEW) });
      expect(third.result.status).toBe('unchanged');
    },
  );

  it('two prefixes new to the pool: fails closed at detect, listing them, and writes nothing', async () => {
    const cluster = onOld();
    const before = cluster.pool.stored;
    const { result } = await run(cluster, { source: inUse(SUBNET_NEW, OTHER) });
    expect(result).toMatchObject({ status: 'failed', stage: 'detect' });
    expect(result.error).toContain(
      `several prefixes are in use (${SUBNET_NEW}::/64, ${OTHER}::/64), 2 of them new to this pool (it has been on ${SUBNET_OLD}::/64)`,
    );
    expect(cluster.pool.stored).toEqual(before);
    expect(cluster.events.events.map((e) => e.reason)).toEqual(['PrefixNotDetected']);
  });

  it('a history someone broke fails the run at read, naming the annotation', async () => {
    const cluster = onOld();
    cluster.pool.edit((p) => {
      p.metadata.annotations = { ...p.metadata.annotations, [PREFIX_HISTORY_ANNOTATION]: 'oops' };
    });
    const { result } = await run(cluster, { source: inUse(SUBNET_NEW) });
    expect(result).toMatchObject({ status: 'failed', stage: 'read' });
    expect(result.error).toContain(`annotation ${PREFIX_HISTORY_ANNOTATION} must be a JSON list`);
  });

  it('a rollback restores the history with the addresses', async () => {
    const cluster = onOld();
    cluster.metallb.cycles.push({ fails: 'down' });
    const before = cluster.pool.stored;
    const { result } = await run(cluster, {
      source: inUse(SUBNET_OLD, SUBNET_NEW),
      settings: { reload: 'always' },
    });
    expect(result.status).toBe('rolled-back');
    expect(cluster.pool.stored.metadata.annotations?.[PREFIX_HISTORY_ANNOTATION]).toBeUndefined();
    expect(cluster.pool.stored.spec).toEqual(before.spec);
  });
});

describe('within() over a source that sees several prefixes', () => {
  const range = parseCidr('2a02:8071:1234::/48');
  if (range === undefined) throw new Error('range');
  const addresses = async (source: PrefixSource) => {
    const answer = await withinSource(range, source).detect({});
    return [answer.address.toString(), ...(answer.alternatives ?? []).map((a) => a.address.toString())];
  };

  it('keeps the prefixes inside the allocation, and only those', async () => {
    expect(await addresses(inUse(OTHER, SUBNET_NEW))).toEqual([`${SUBNET_NEW}::10`]);
    expect(await addresses(inUse(SUBNET_OLD, OTHER, SUBNET_NEW))).toEqual([
      `${SUBNET_OLD}::10`,
      `${SUBNET_NEW}::10`,
    ]);
    await expect(addresses(inUse(OTHER))).rejects.toThrow(
      `source within(2a02:8071:1234::/48; interface): interface answered ${OTHER}::10, outside the expected 2a02:8071:1234::/48`,
    );
  });
});
