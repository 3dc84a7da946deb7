// A whole sync with Cilium LB-IPAM as the load balancer, on the in-memory cluster: the same pool
// guarantees as with MetalLB, nothing ever restarted (the operator takes the pool by itself), Services
// pinned with Cilium's annotation, and Events on a cluster-scoped pool. The real operator's suite
// (test/cluster/cilium.test.ts) proves what Cilium then does with the pool.
import { describe, expect, it } from '@jest/globals';
import { ClusterError } from '../../lib/cluster/api-error.js';
import { ConflictError } from '../../lib/cluster/pool-resource.js';
import {
  CILIUM_PIN_ALIAS,
  CILIUM_PIN_ANNOTATION,
  PIN_ANNOTATION,
  PINNED_BY_US_ANNOTATION,
} from '../../lib/plan/host-parts.js';
import { OWNED_ANNOTATION, RELOAD_OWED_ANNOTATION } from '../../lib/plan/pool-record.js';
import { inMemoryCluster } from '../support/in-memory-cluster.js';
import { run } from '../support/in-memory-sync.js';
import { NEW, OLD, range, SUBNET_NEW, SUBNET_OLD, V4 } from '../support/sync-settings.js';

const NOTHING_TO_RESTART = 'Cilium LB-IPAM takes pool changes by itself: nothing to restart';

/** A Cilium pool metallb-dyn6 synced to the old prefix, next to a person's IPv4 block. */
const synced = () =>
  inMemoryCluster([V4, range(SUBNET_OLD)], {
    annotations: { [OWNED_ANNOTATION]: JSON.stringify([range(SUBNET_OLD)]) },
    backend: 'cilium',
  });

describe('a sync with Cilium LB-IPAM', () => {
  it('moves only its own block and restarts nothing: the reload is reported as not needed', async () => {
    const cluster = synced();
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'updated',
      pool: 'ipv6-pool',
      before: [V4, range(SUBNET_OLD)],
      after: [V4, range(SUBNET_NEW)],
      reload: { action: 'skipped', reason: NOTHING_TO_RESTART },
    });
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, range(SUBNET_NEW)]);
    // No pod was listed or deleted, and no restart is owed.
    expect(cluster.trail.filter((r) => r.includes('pods'))).toEqual([]);
    expect(cluster.pool.stored.metadata.annotations?.[RELOAD_OWED_ANNOTATION]).toBeUndefined();
  });

  it('restarts nothing when forced either, and changes nothing when the pool is right', async () => {
    const cluster = synced();
    await run(cluster);
    const again = await run(cluster, { request: { force: true } });
    expect(again.result).toMatchObject({
      status: 'unchanged',
      reload: { action: 'skipped', reason: NOTHING_TO_RESTART },
    });
    expect(cluster.trail.filter((r) => r.includes('pods'))).toEqual([]);
  });

  it('tells what it did on the cluster-scoped pool: Events without a namespace', async () => {
    const cluster = synced();
    await run(cluster);
    expect(cluster.events.events.map((e) => e.reason)).toContain('AddressesUpdated');
    expect(cluster.events.subjects).toContainEqual({ name: 'ipv6-pool', uid: 'pool-uid' });
  });

  it('fails with the pool unchanged when the write is refused, naming the Cilium pool', async () => {
    const cluster = synced();
    cluster.pool.failWrites.push(
      new ClusterError('writing CiliumLoadBalancerIPPool ipv6-pool: forbidden (403)', 403),
    );
    const { result } = await run(cluster);
    expect(result).toMatchObject({ status: 'failed', stage: 'write' });
    expect(result.error).toMatch(/CiliumLoadBalancerIPPool ipv6-pool: forbidden/);
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, range(SUBNET_OLD)]);
  });

  it('re-plans on a conflict and keeps the entry someone added meanwhile', async () => {
    const cluster = synced();
    let once = false;
    cluster.pool.beforeWrite = (pool) => {
      if (once) return;
      once = true;
      pool.edit((p) => p.spec.addresses.push('fd00:1::/64'));
    };
    const { result } = await run(cluster);
    expect(result).toMatchObject({ status: 'updated' });
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, range(SUBNET_NEW), 'fd00:1::/64']);
  });

  it('gives up after repeated conflicts with a message naming the Cilium pool', async () => {
    const cluster = synced();
    cluster.pool.beforeWrite = (pool) => {
      pool.failWrites.push(new ConflictError(pool.label));
    };
    const { result } = await run(cluster);
    expect(result).toMatchObject({ status: 'failed', stage: 'write' });
    expect(result.error).toMatch(
      /^CiliumLoadBalancerIPPool ipv6-pool was changed by someone else .* giving up/,
    );
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, range(SUBNET_OLD)]);
  });

  it('writes nothing in a dry run', async () => {
    const cluster = synced();
    const { result } = await run(cluster, { request: { dryRun: true } });
    expect(result).toMatchObject({ status: 'dry-run', after: [V4, range(SUBNET_NEW)] });
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, range(SUBNET_OLD)]);
    expect(cluster.trail.filter((r) => r.startsWith('patch'))).toEqual([]);
  });
});

describe('keeping host parts with Cilium LB-IPAM', () => {
  const all = { settings: { keepHostParts: 'all' as const } };

  it("pins with lbipam.cilium.io/ips, rewrites Cilium's alias where a person used it, and never MetalLB's annotation", async () => {
    const cluster = synced();
    cluster.services.add({ namespace: 'apps', name: 'web', annotations: {}, ingress: [OLD('1005')] });
    cluster.services.add({
      namespace: 'apps',
      name: 'dns',
      annotations: { [CILIUM_PIN_ALIAS]: OLD('1053') },
      ingress: [OLD('1053')],
    });
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({ status: 'updated', after: [V4, range(SUBNET_NEW)] });
    const web = cluster.services.stored('apps', 'web')?.annotations;
    expect(web).toMatchObject({
      [CILIUM_PIN_ANNOTATION]: NEW('1005'),
      [PINNED_BY_US_ANNOTATION]: NEW('1005'),
    });
    expect(web?.[PIN_ANNOTATION]).toBeUndefined();
    const dns = cluster.services.stored('apps', 'dns')?.annotations;
    expect(dns?.[CILIUM_PIN_ALIAS]).toBe(NEW('1053'));
    expect(dns?.[CILIUM_PIN_ANNOTATION]).toBeUndefined();
  });

  it('rewrites spec.loadBalancerIP, which Cilium reads next to the annotation', async () => {
    const cluster = synced();
    cluster.services.add({
      namespace: 'apps',
      name: 'legacy',
      annotations: {},
      loadBalancerIP: OLD('1009'),
      ingress: [OLD('1009')],
    });
    await run(cluster, all);
    expect(cluster.services.stored('apps', 'legacy')?.loadBalancerIP).toBe(NEW('1009'));
  });
});
