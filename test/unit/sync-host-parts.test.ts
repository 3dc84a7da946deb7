// Stable host numbering in a whole sync, on the in-memory cluster: the Services are moved before the
// pool, each patch at its resourceVersion; a dry run lists the moves; a missing permission leaves the
// Services alone and still syncs the pool; every failure after a move puts the Services back.
import { describe, expect, it } from '@jest/globals';
import { ClusterError } from '../../lib/cluster/api-error.js';
import { SERVICE_PATCH_CONCURRENCY } from '../../lib/sync/host-part-keeper.js';
import { OWNED_ANNOTATION } from '../../lib/plan/pool-record.js';
import {
  DEPRECATED_PIN_ANNOTATION,
  PIN_ANNOTATION,
  PINNED_BY_US_ANNOTATION,
} from '../../lib/plan/host-parts.js';
import { inMemoryCluster } from '../support/in-memory-cluster.js';
import { answering, run } from '../support/in-memory-sync.js';
import { parseHostRanges } from '../../lib/prefix/host-range.js';
import { formatText } from '../../lib/sync/result.js';
import { NEW, OLD, range, SUBNET_NEW, SUBNET_OLD, V4 } from '../support/sync-settings.js';

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
/**
 * The pool write of the addresses fails (the first write, recording the move, goes through): the run
 * fails at write, and both Services are back on their old addresses.
 */
async function expectPutBackAfterFailedWrite(cluster: ReturnType<typeof home>): Promise<void> {
  let writes = 0;
  cluster.pool.beforeWrite = () => {
    if (++writes === 2)
      cluster.pool.failWrites.push(new ClusterError('writing IPAddressPool: HTTP 500', 500));
  };
  const { result } = await run(cluster, all);
  expect(result).toMatchObject({ status: 'failed', stage: 'write', services: { undone: true } });
  expect(pinOf(cluster, 'apps', 'web')).toBe(OLD('1005'));
  expect(pinOf(cluster, 'iot', 'mqtt')).toBe(OLD('1006'));
}

/** The pool and mqtt moved; web was left as it was, for `reason`. */
const webLeftAlone = (reason: string) => ({
  status: 'updated',
  after: [V4, range(SUBNET_NEW)],
  services: {
    changed: [{ service: 'iot/mqtt' }],
    notKept: [{ service: 'apps/web', address: OLD('1005'), reason }],
  },
});
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
    // The move is recorded on the pool before the first Service patch; the pool write ends it.
    expect(cluster.trail.slice(0, 7)).toEqual([
      'get ipaddresspools 200',
      'list pods 200',
      'list services 200',
      'patch ipaddresspools 200',
      'patch services 200',
      'patch services 200',
      'patch ipaddresspools 200',
    ]);
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty(['metallb-dyn6/services-moving']);
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
      /^listing Services in all namespaces: forbidden \(403\): RBAC: access denied\. Keeping host parts \(and publishing with --nptv6\) needs list, get and patch on Services in every namespace: add the kustomize component deploy\/components\/keep-host-parts/,
    );
    expect(cluster.events.events.map((e) => `${e.type} ${e.reason}`)).toContain('Warning HostPartsNotKept');
  });

  it('allowed to list but not to patch: each Service is reported with the grant it needs, and the pool is synced', async () => {
    const cluster = home();
    cluster.services.forbidden = 'patch';
    const { result } = await run(cluster, all);
    expect(result.status).toBe('updated');
    expect(result.after).toEqual([V4, range(SUBNET_NEW)]);
    expect(result.services?.notKept).toEqual([
      {
        service: 'apps/web',
        address: OLD('1005'),
        reason: expect.stringMatching(/^patching Service apps\/web: forbidden \(403\).*keep-host-parts/),
      },
      {
        service: 'iot/mqtt',
        address: OLD('1006'),
        reason: expect.stringMatching(/^patching Service iot\/mqtt: forbidden \(403\)/),
      },
    ]);
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

  it('a Service patch the server refuses (a webhook, 422) skips that Service only: reported, and the pool and the others move', async () => {
    const cluster = home();
    const mqtt = cluster.services.stored('iot', 'mqtt');
    const refusal = 'patching Service iot/mqtt: HTTP 422: admission webhook "policy" denied the request';
    cluster.services.failPatches.push(undefined, new ClusterError(refusal, 422));
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({
      status: 'updated',
      after: [V4, range(SUBNET_NEW)],
      services: {
        changed: [{ service: 'apps/web', moved: [{ from: OLD('1005'), to: NEW('1005') }] }],
        notKept: [{ service: 'iot/mqtt', address: OLD('1006'), reason: refusal }],
      },
    });
    expect(pinOf(cluster, 'apps', 'web')).toBe(NEW('1005'));
    expect(cluster.services.stored('iot', 'mqtt')).toEqual(mqtt);
    expect(cluster.events.events).toContainEqual({
      type: 'Warning',
      reason: 'HostPartsNotKept',
      message: `iot/mqtt ${OLD('1006')}: ${refusal}`,
    });
  });

  it('a Service deleted between the LIST and our patch (404) is skipped; the pool still follows the prefix', async () => {
    const cluster = home();
    cluster.services.beforePatch = (ref) => {
      if (ref.name === 'web') cluster.services.remove(ref);
    };
    const { result } = await run(cluster, all);
    expect(result).toMatchObject(webLeftAlone('Service apps/web was deleted while the Services were moved'));
    expect(pinOf(cluster, 'iot', 'mqtt')).toBe(NEW('1006'));
  });

  it('a Service changed to ClusterIP between the LIST and our patch is not pinned after the re-read', async () => {
    const cluster = home();
    let raced = false;
    cluster.services.beforePatch = (ref) => {
      if (raced || ref.name !== 'web') return;
      raced = true;
      cluster.services.retype(ref);
    };
    const { result } = await run(cluster, all);
    expect(result).toMatchObject(webLeftAlone('Service apps/web is no longer of type LoadBalancer'));
    expect(pinOf(cluster, 'apps', 'web')).toBeUndefined();
    expect(cluster.trail).toContain('patch services 409');
  });

  it('a patch whose answer was lost counts as applied: a failed pool write undoes it too', async () => {
    const cluster = home();
    let lost = false;
    cluster.services.beforePatch = (ref) => {
      if (lost || ref.name !== 'web') return;
      lost = true;
      // Applied by the server, then the connection drops: the client sees no answer at all.
      const service = cluster.services.stored(ref.namespace, ref.name);
      cluster.services.edit(ref, (s) => {
        s.annotations = {
          ...s.annotations,
          [PIN_ANNOTATION]: NEW('1005'),
          [PINNED_BY_US_ANNOTATION]: NEW('1005'),
        };
      });
      expect(service).toBeDefined();
      cluster.services.failPatches.push(new Error('socket hang up'));
    };
    await expectPutBackAfterFailedWrite(cluster);
    // Nothing left stranded: the record of the move is gone with it.
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty(['metallb-dyn6/services-moving']);
  });

  it('a pool write that fails puts the Services back', async () => {
    const cluster = home();
    await expectPutBackAfterFailedWrite(cluster);
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

  it('a Service that keeps changing under us: after 3 conflicts it is skipped and reported; the others and the pool move', async () => {
    const cluster = home();
    cluster.services.beforePatch = (ref) => {
      if (ref.name === 'web')
        cluster.services.edit(ref, (s) => {
          s.annotations = { ...s.annotations, 'team/counter': String(Math.random()) };
        });
    };
    const { result } = await run(cluster, all);
    expect(result).toMatchObject(
      webLeftAlone('Service apps/web was changed by someone else while we wrote it'),
    );
    expect(cluster.trail.filter((t) => t === 'get services 200')).toHaveLength(3);
    expect(pinOf(cluster, 'apps', 'web')).toBeUndefined();
    expect(pinOf(cluster, 'iot', 'mqtt')).toBe(NEW('1006'));
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

describe('a Services move left unfinished', () => {
  const MOVING = 'metallb-dyn6/services-moving';
  /** A run moved web and mqtt to the new prefix, recorded it, and was killed before the pool write. */
  function killedMidway(until = '2000-01-01T00:00:00.000Z') {
    const cluster = home();
    for (const [namespace, name, host] of [
      ['apps', 'web', '1005'],
      ['iot', 'mqtt', '1006'],
    ] as const)
      cluster.services.edit({ namespace, name }, (s) => {
        s.annotations = { [PIN_ANNOTATION]: NEW(host), [PINNED_BY_US_ANNOTATION]: NEW(host) };
      });
    cluster.pool.edit((p) => {
      p.metadata.annotations = {
        ...p.metadata.annotations,
        [MOVING]: JSON.stringify({ to: `${SUBNET_NEW}::/64`, run: 'killed', until }),
      };
    });
    return cluster;
  }

  it('a later run that finds the pool unchanged moves the stranded pins back and ends the record', async () => {
    const cluster = killedMidway();
    const { result } = await run(cluster, { ...all, source: answering(SUBNET_OLD) });
    expect(result).toMatchObject({
      status: 'unchanged',
      services: {
        changed: [
          { service: 'apps/web', kind: 'rewrite', moved: [{ from: NEW('1005'), to: OLD('1005') }] },
          { service: 'iot/mqtt', kind: 'rewrite', moved: [{ from: NEW('1006'), to: OLD('1006') }] },
        ],
      },
    });
    expect(pinOf(cluster, 'apps', 'web')).toBe(OLD('1005'));
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([MOVING]);
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, range(SUBNET_OLD)]);
    // Repaired once: the run after is one request again.
    cluster.trail.length = 0;
    expect((await run(cluster, { ...all, source: answering(SUBNET_OLD) })).result.status).toBe('unchanged');
    expect(cluster.trail).toEqual(['get ipaddresspools 200']);
  });

  it('repairs even under --keep-host-parts none, and after a later prefix change the Services follow it', async () => {
    const cluster = killedMidway();
    await run(cluster, { source: answering(SUBNET_OLD) });
    expect(pinOf(cluster, 'apps', 'web')).toBe(OLD('1005'));
    const { result } = await run(cluster, all);
    expect(result.status).toBe('updated');
    expect(pinOf(cluster, 'apps', 'web')).toBe(NEW('1005'));
  });

  it('a run moving to the same prefix while the record is in force leaves the move to its run', async () => {
    const cluster = killedMidway('2099-01-01T00:00:00.000Z');
    const before = cluster.pool.stored;
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({ status: 'joined' });
    expect(result.reload?.reason).toMatch(
      /^run killed is moving the Services and the pool to .*; left to it$/,
    );
    expect(cluster.pool.stored).toEqual(before);
  });

  it('a run for another prefix while the record is in force fails at services, changing nothing', async () => {
    const cluster = killedMidway('2099-01-01T00:00:00.000Z');
    const before = cluster.pool.stored;
    const { result } = await run(cluster, { ...all, source: answering('2a02:8071:1234:56ce') });
    expect(result).toMatchObject({ status: 'failed', stage: 'services' });
    expect(result.error).toMatch(/^run killed is moving the Services to 2a02:8071:1234:56cd::\/64 until/);
    expect(cluster.pool.stored).toEqual(before);
  });

  it('a run that resumes the same move after the record lapsed completes it and ends the record', async () => {
    const cluster = killedMidway();
    const { result } = await run(cluster, all);
    expect(result).toMatchObject({ status: 'updated', after: [V4, range(SUBNET_NEW)] });
    expect(pinOf(cluster, 'apps', 'web')).toBe(NEW('1005'));
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([MOVING]);
  });
});

describe('a kept Service never costs another its address', () => {
  it("a person's pin to the address a kept Service would move to: not kept, the conflict named, no double pin", async () => {
    const cluster = home();
    cluster.services.add({
      namespace: 'apps',
      name: 'other',
      annotations: { [PIN_ANNOTATION]: NEW('1005') },
      ingress: [],
    });
    const { result } = await run(cluster, all);
    expect(result.status).toBe('updated');
    expect(result.services?.notKept).toEqual([
      {
        service: 'apps/web',
        address: OLD('1005'),
        reason: `${NEW('1005')} is already held, pinned or being given to Service apps/other`,
      },
    ]);
    expect(pinOf(cluster, 'apps', 'web')).toBeUndefined();
    expect(pinOf(cluster, 'iot', 'mqtt')).toBe(NEW('1006'));
    expect(cluster.events.events).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'HostPartsNotKept' }),
    );
    expect(formatText(result)).toContain(
      `  not kept: apps/web ${OLD('1005')}: ${NEW('1005')} is already held, pinned or being given to Service apps/other`,
    );
  });
});
