// Stable host numbering in a whole sync, on the in-memory cluster: the Services are moved before the
// pool, each patch at its resourceVersion; a dry run lists the moves; a missing permission leaves the
// Services alone and still syncs the pool; every failure after a move puts the Services back.
import { describe, expect, it } from '@jest/globals';
import { ClusterError } from '../../lib/cluster/api-error.js';
import { SERVICE_PATCH_CONCURRENCY } from '../../lib/sync/host-part-keeper.js';
import { OWNED_ANNOTATION } from '../../lib/plan/registry.js';
import {
  DEPRECATED_PIN_ANNOTATION,
  PIN_ANNOTATION,
  PINNED_BY_US_ANNOTATION,
} from '../../lib/plan/host-parts.js';
import { inMemoryCluster } from '../support/in-memory-cluster.js';
import { run } from '../support/in-memory-sync.js';
import { parseHostRanges } from '../../lib/prefix/host-range.js';
import { formatText } from '../../lib/sync/result.js';
import { range, SUBNET_NEW, SUBNET_OLD } from '../support/sync-settings.js';

const V4 = '192.168.178.240/28';
const OLD = (host: string) => `${SUBNET_OLD}::${host}`;
const NEW = (host: string) => `${SUBNET_NEW}::${host}`;
const all = { settings: { keepHostParts: 'all' as const } };

/** A pool metallb-dyn6 synced to the old prefix, on a cluster running that MetalLB. */
const syncedPool = (metallbVersion: string) =>
  inMemoryCluster([V4, range(SUBNET_OLD)], {
    annotations: { [OWNED_ANNOTATION]: JSON.stringify([range(SUBNET_OLD)]) },
    metallbVersion,
  });

/** A synced pool on the old prefix, MetalLB 0.14.9, and Services MetalLB gave ::1005 and ::1006. */
function home() {
  const cluster = syncedPool('v0.14.9');
  cluster.services.add({ namespace: 'apps', name: 'web', annotations: {}, ingress: [OLD('1005')] });
  cluster.services.add({ namespace: 'iot', name: 'mqtt', annotations: {}, ingress: [OLD('1006')] });
  // A person's pin outside our range: never touched.
  cluster.services.add({
    namespace: 'apps',
    name: 'vpn',
    annotations: { [PIN_ANNOTATION]: '2001:470:1:2::5' },
    ingress: ['2001:470:1:2::5'],
  });
  return cluster;
}
const pinOf = (cluster: ReturnType<typeof home>, namespace: string, name: string) =>
  cluster.services.stored(namespace, name)?.annotations[PIN_ANNOTATION];

describe('keeping host parts through a sync', () => {
  it('pins each Service to its host part under the new prefix before the pool moves, and reports it', async () => {
    const cluster = home();
    const vpn = cluster.services.stored('apps', 'vpn');
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({
      status: 'updated',
      after: [V4, range(SUBNET_NEW)],
      services: {
        mode: 'all',
        changed: [
          { service: 'apps/web', kind: 'pin', moved: [{ from: OLD('1005'), to: NEW('1005') }] },
          { service: 'iot/mqtt', kind: 'pin', moved: [{ from: OLD('1006'), to: NEW('1006') }] },
        ],
        notKept: [],
      },
    });
    expect(pinOf(cluster, 'apps', 'web')).toBe(NEW('1005'));
    expect(cluster.services.stored('apps', 'web')?.annotations[PINNED_BY_US_ANNOTATION]).toBe(NEW('1005'));
    expect(cluster.services.stored('apps', 'vpn')).toEqual(vpn);
    // MetalLB's pods are listed once: its version decides both the reload and the pin annotation.
    expect(cluster.trail.slice(0, 6)).toEqual([
      'get ipaddresspools 200',
      'list pods 200',
      'list services 200',
      'patch services 200',
      'patch services 200',
      'patch ipaddresspools 200',
    ]);
    expect(cluster.events.events).toContainEqual({
      type: 'Normal',
      reason: 'HostPartsKept',
      message: `apps/web ${OLD('1005')} → ${NEW('1005')}; iot/mqtt ${OLD('1006')} → ${NEW('1006')}`,
    });
  });

  it('pins with the annotation MetalLB < 0.14.9 reads on a cluster running one', async () => {
    const cluster = syncedPool('v0.13.12');
    cluster.services.add({ namespace: 'apps', name: 'web', annotations: {}, ingress: [OLD('1005')] });
    await run(cluster, { settings: { keepHostParts: 'all', reload: 'never' } });
    expect(cluster.services.stored('apps', 'web')?.annotations).toEqual({
      [DEPRECATED_PIN_ANNOTATION]: NEW('1005'),
      [PINNED_BY_US_ANNOTATION]: NEW('1005'),
    });
  });

  it('lists the Services only when the pool moves: a sync with nothing to change makes no Service request', async () => {
    const cluster = home();
    await run(cluster, all);
    cluster.trail.length = 0;
    const { result } = await run(cluster, all);
    expect(result.status).toBe('unchanged');
    expect(result).not.toHaveProperty('services');
    expect(cluster.trail).toEqual(['get ipaddresspools 200']);
  });

  it('none (the default) never reads a Service', async () => {
    const cluster = home();
    const { result } = await run(cluster);
    expect(result.status).toBe('updated');
    expect(cluster.trail.filter((t) => t.includes('services'))).toEqual([]);
    expect(pinOf(cluster, 'apps', 'web')).toBeUndefined();
  });

  it('a dry run lists every Service change and patches nothing', async () => {
    const cluster = home();
    const { result } = await run(cluster, { settings: { keepHostParts: 'all', dryRun: true } });
    expect(result).toMatchObject({
      status: 'dry-run',
      services: { changed: [{ service: 'apps/web' }, { service: 'iot/mqtt' }] },
    });
    expect(cluster.trail).toEqual(['get ipaddresspools 200', 'list pods 200', 'list services 200']);
    expect(pinOf(cluster, 'apps', 'web')).toBeUndefined();
  });

  it('--output text names each Service move, each address not kept, and a Service step left out', async () => {
    const narrower = parseHostRanges('::1000-::1005');
    if (!narrower.ok) throw new Error(narrower.error);
    const settings = { keepHostParts: 'all' as const, dryRun: true, hosts: narrower.value };
    const { result } = await run(home(), { settings });
    expect(formatText(result).split('\n')).toEqual(
      expect.arrayContaining([
        `  service: apps/web ${OLD('1005')} -> ${NEW('1005')}`,
        `  not kept: iot/mqtt ${OLD('1006')}: its host part ::1006 is outside the new host ranges`,
      ]),
    );
    const refused = home();
    refused.services.forbidden = 'list';
    const left = await run(refused, all);
    expect(formatText(left.result)).toMatch(
      /\n {2}services left alone: listing Services in all namespaces: forbidden/,
    );
  });

  it('without permission to list Services: says what to grant, syncs the pool, and records a Warning', async () => {
    const cluster = home();
    cluster.services.forbidden = 'all';
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({ status: 'updated', after: [V4, range(SUBNET_NEW)] });
    expect(result.services?.skipped).toMatch(
      /^listing Services in all namespaces: forbidden \(403\): RBAC: access denied\. Keeping host parts needs list, get and patch on Services in every namespace: add the kustomize component deploy\/components\/keep-host-parts/,
    );
    expect(cluster.events.events.map((e) => `${e.type} ${e.reason}`)).toContain('Warning HostPartsNotKept');
  });

  it('allowed to list but not to patch: nothing is left half-moved, and the pool is synced', async () => {
    const cluster = home();
    cluster.services.forbidden = 'patch';
    const { result } = await run(cluster, all);
    expect(result.status).toBe('updated');
    expect(result.services?.skipped).toMatch(/^patching Service .*forbidden \(403\)/);
    expect(pinOf(cluster, 'apps', 'web')).toBeUndefined();
    expect(pinOf(cluster, 'iot', 'mqtt')).toBeUndefined();
  });

  it("a person's edit between the LIST and our patch is kept: the Service is read again and planned again", async () => {
    const cluster = home();
    let raced = false;
    cluster.services.beforePatch = (ref) => {
      if (raced || ref.name !== 'web') return;
      raced = true;
      cluster.services.edit(ref, (s) => {
        s.annotations = { ...s.annotations, 'team/owner': 'alice' };
      });
    };
    const { result } = await run(cluster, all);
    expect(result.status).toBe('updated');
    expect(cluster.services.stored('apps', 'web')?.annotations).toEqual({
      'team/owner': 'alice',
      [PIN_ANNOTATION]: NEW('1005'),
      [PINNED_BY_US_ANNOTATION]: NEW('1005'),
    });
    expect(cluster.trail).toContain('patch services 409');
    expect(cluster.trail).toContain('get services 200');
  });

  it('a pool conflict re-plans the pool, not the Services: one LIST per run, and the moves made stand', async () => {
    const cluster = home();
    let raced = false;
    cluster.pool.beforeWrite = (pool) => {
      if (raced) return;
      raced = true;
      pool.edit((p) => p.spec.addresses.push('10.10.0.0/24'));
    };
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({ status: 'updated', after: [V4, range(SUBNET_NEW), '10.10.0.0/24'] });
    expect(result.services?.changed.map((c) => c.service)).toEqual(['apps/web', 'iot/mqtt']);
    expect(cluster.trail.filter((t) => t === 'list services 200')).toHaveLength(1);
    expect(cluster.trail.filter((t) => t.startsWith('patch services'))).toEqual([
      'patch services 200',
      'patch services 200',
    ]);
    expect(pinOf(cluster, 'apps', 'web')).toBe(NEW('1005'));
  });

  it('a Service patch the server refuses fails the run at services: the moves before it are undone and the pool is as it was', async () => {
    const cluster = home();
    const before = { pool: cluster.pool.stored, web: cluster.services.stored('apps', 'web') };
    cluster.services.failPatches.push(
      undefined,
      new ClusterError(
        'patching Service iot/mqtt: HTTP 422: admission webhook "policy" denied the request',
        422,
      ),
    );
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'services',
      error:
        'patching Service iot/mqtt: HTTP 422: admission webhook "policy" denied the request; the Services moved before it were put back',
    });
    expect(cluster.pool.stored).toEqual(before.pool);
    // Back at its old address, pinned there by us so that MetalLB gives it that one again.
    expect(cluster.services.stored('apps', 'web')?.annotations).toEqual({
      ...before.web?.annotations,
      [PIN_ANNOTATION]: OLD('1005'),
      [PINNED_BY_US_ANNOTATION]: OLD('1005'),
    });
  });

  it('a pool write that fails puts the Services back', async () => {
    const cluster = home();
    cluster.pool.failWrites.push(new ClusterError('writing IPAddressPool: HTTP 500', 500));
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({ status: 'failed', stage: 'write', services: { undone: true } });
    expect(pinOf(cluster, 'apps', 'web')).toBe(OLD('1005'));
    expect(pinOf(cluster, 'iot', 'mqtt')).toBe(OLD('1006'));
  });

  it('MetalLB not taking the pool: the rollback restores the pool and the Services', async () => {
    const cluster = syncedPool('v0.13.12');
    cluster.services.add({
      namespace: 'apps',
      name: 'web',
      annotations: { [PIN_ANNOTATION]: `192.168.178.241,${OLD('1005')}` },
      ingress: [],
    });
    cluster.metallb.cycles.push({ fails: '0 of 2 replacement pods Ready' });
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({
      status: 'rolled-back',
      after: [V4, range(SUBNET_OLD)],
      services: { changed: [{ service: 'apps/web', kind: 'rewrite' }], undone: true },
    });
    expect(pinOf(cluster, 'apps', 'web')).toBe(`192.168.178.241,${OLD('1005')}`);
  });

  it('the rollback leaves a Service someone changed after our move, and says so', async () => {
    const cluster = home();
    cluster.metallb.cycles.push({ fails: 'down' });
    cluster.metallb.duringCycle = () => {
      cluster.services.edit({ namespace: 'apps', name: 'web' }, (s) => {
        s.annotations = { ...s.annotations, [PIN_ANNOTATION]: NEW('1100') };
      });
    };
    const { result } = await run(cluster, { settings: { keepHostParts: 'all', reload: 'always' } });
    expect(result.status).toBe('rolled-back');
    expect(result.error).toMatch(/Service apps\/web was changed since we moved it, and keeps that change/);
    expect(pinOf(cluster, 'apps', 'web')).toBe(NEW('1100'));
    expect(pinOf(cluster, 'iot', 'mqtt')).toBe(OLD('1006'));
  });

  it("a person's unrelated edit before the rollback: the Service is read again, put back, and keeps the edit", async () => {
    const cluster = home();
    cluster.metallb.cycles.push({ fails: 'down' });
    cluster.metallb.duringCycle = () => {
      cluster.services.edit({ namespace: 'apps', name: 'web' }, (s) => {
        s.annotations = { ...s.annotations, 'team/owner': 'alice' };
      });
    };
    const { result } = await run(cluster, { settings: { keepHostParts: 'all', reload: 'always' } });
    expect(result).toMatchObject({ status: 'rolled-back', services: { undone: true } });
    expect(result.error).not.toMatch(/Service apps\/web/);
    expect(cluster.services.stored('apps', 'web')?.annotations).toEqual({
      'team/owner': 'alice',
      [PIN_ANNOTATION]: OLD('1005'),
      [PINNED_BY_US_ANNOTATION]: OLD('1005'),
    });
    expect(cluster.trail).toContain('get services 200');
  });

  it('a Service that keeps changing under us: after 3 conflicts the run fails at services, and nothing stays moved', async () => {
    const cluster = home();
    cluster.services.beforePatch = (ref) => {
      if (ref.name === 'web')
        cluster.services.edit(ref, (s) => {
          s.annotations = { ...s.annotations, 'team/counter': String(Math.random()) };
        });
    };
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({ status: 'failed', stage: 'services' });
    expect(result.error).toMatch(
      /^Service apps\/web was changed by someone else while we wrote it; the Services moved before it were put back/,
    );
    expect(cluster.trail.filter((t) => t === 'get services 200')).toHaveLength(3);
    expect(pinOf(cluster, 'apps', 'web')).toBeUndefined();
    expect(pinOf(cluster, 'iot', 'mqtt')).toBe(OLD('1006'));
  });

  it('a rollback that cannot put a Service back says which, and why', async () => {
    const cluster = home();
    cluster.metallb.cycles.push({ fails: 'down' });
    cluster.metallb.duringCycle = () => {
      cluster.services.failPatches.push(new ClusterError('patching Service apps/web: HTTP 500', 500));
    };
    const { result } = await run(cluster, { settings: { keepHostParts: 'all', reload: 'always' } });
    expect(result.status).toBe('rolled-back');
    expect(result.error).toMatch(
      /putting Service (apps\/web|iot\/mqtt) back failed: patching Service apps\/web: HTTP 500/,
    );
  });

  it('spec.loadBalancerIP moves with the prefix and back with a rollback', async () => {
    const cluster = syncedPool('v0.13.12');
    cluster.services.add({
      namespace: 'apps',
      name: 'legacy',
      annotations: {},
      loadBalancerIP: OLD('1011'),
      ingress: [],
    });
    cluster.metallb.cycles.push({ fails: 'down' });
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({
      status: 'rolled-back',
      services: {
        changed: [
          { service: 'apps/legacy', kind: 'rewrite', moved: [{ from: OLD('1011'), to: NEW('1011') }] },
        ],
      },
    });
    expect(cluster.services.stored('apps', 'legacy')?.loadBalancerIP).toBe(OLD('1011'));
    const again = await run(cluster, all);
    expect(again.result.status).toBe('updated');
    expect(cluster.services.stored('apps', 'legacy')?.loadBalancerIP).toBe(NEW('1011'));
  });

  it(`patches at most ${String(SERVICE_PATCH_CONCURRENCY)} Services at once`, async () => {
    const cluster = home();
    for (let i = 0; i < 40; i++)
      cluster.services.add({
        namespace: 'many',
        name: `s${String(i)}`,
        annotations: {},
        ingress: [OLD(String(1100 + i))],
      });
    cluster.services.latencyMs = 5;
    const { result } = await run(cluster, all);
    expect(result.services?.changed).toHaveLength(42);
    expect(cluster.services.maxInFlight).toBe(SERVICE_PATCH_CONCURRENCY);
  });
});
