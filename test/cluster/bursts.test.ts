// Many runs at once against the real apiserver, as a CronJob, a router's pushes and a person's
// forced syncs overlap: 20 CLI processes started together end with one write of the pool's
// addresses and one restart of MetalLB (v0.13.12, which must be restarted), and every one exits 0
// saying what it did. The writes are counted on a watch of the pool, the restarts in the audit log;
// the last case runs MetalLB's real controller, which gives the Service its new address.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { RELOAD_OWED_ANNOTATION } from '../../lib/plan/pool-record.js';
import { createLoadBalancer, installReleaseCrds } from '../../devcluster/metallb-fixture.js';
import { goToBuild, metallbRelease } from '../../devcluster/metallb-runtime.js';
import { adminKubeConfig, auditSettled } from '../../devcluster/shared-cluster.js';
import { describeIf } from '../support/declared-skips.js';
import { exclusiveDuringSuite, holding, LOAD_BALANCER_SERVICES, METALLB_CRDS } from '../support/exclusive.js';
import { startCli, type CliRun } from '../../devcluster/cli.js';
import { restarts, watchAddresses, type AddressWatch } from '../support/pool-watch.js';
import {
  homeCluster,
  range,
  SUBNET_NEW,
  SUBNET_OLD,
  type HomeCluster,
} from '../../devcluster/home-cluster.js';

const V4 = '192.168.178.240/28';
const RUNS = 20;

/** Starts `RUNS` CLI syncs at the same moment, each with its own arguments. */
async function burst(home: HomeCluster, args: (i: number) => string[]): Promise<CliRun[]> {
  const env = home.env({ METALLB_DYN6_RELOAD_TIMEOUT: '60' });
  return Promise.all(Array.from({ length: RUNS }, (_, i) => startCli(args(i), env, 120_000).done));
}

describe('a burst of runs', () => {
  let home: HomeCluster;
  let watch: AddressWatch;
  beforeEach(async () => {
    home = await homeCluster('burst', { metallbVersion: 'v0.13.12' });
    watch = await watchAddresses(home);
  });
  afterEach(() => {
    watch.stop();
  });

  const expectAllWell = (runs: CliRun[]) => {
    for (const run of runs)
      expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    const statuses = runs.map((r) => r.result?.status);
    expect(statuses.every((s) => s === 'updated' || s === 'unchanged' || s === 'joined')).toBe(true);
    return statuses;
  };

  it(`${String(RUNS)} syncs for a new prefix: one write of the addresses, one MetalLB restart, all exit 0`, async () => {
    const runs = await burst(home, () => ['sync']);
    const statuses = expectAllWell(runs);
    expect(statuses.filter((s) => s === 'updated')).toHaveLength(1);
    expect(await watch.settled()).toEqual([[V4, range(SUBNET_NEW)]]);
    expect(restarts(await auditSettled(home))).toBe(1);
    expect((await home.readPool()).metadata.annotations).not.toHaveProperty([RELOAD_OWED_ANNOTATION]);
  }, 240_000);

  it(`${String(RUNS)} forced syncs, and a mix of forced and plain ones for one prefix in many spellings: one restart each burst`, async () => {
    const first = await burst(home, (i) => [
      'sync',
      '--force',
      '--source',
      `static:${SUBNET_OLD}::${i.toString(16)}/64`,
    ]);
    // One run restarts MetalLB (and, the pool being new to it, writes the ownership record); the
    // others leave it to that run.
    expect(expectAllWell(first).filter((s) => s !== 'joined')).toHaveLength(1);
    expect(await watch.settled()).toEqual([]);
    expect(restarts(await auditSettled(home))).toBe(1);

    const spelled = (i: number) => `static:${SUBNET_NEW.toUpperCase()}:0:0:0:${i.toString(16)}/64`;
    const mixed = await burst(home, (i) => [
      'sync',
      ...(i % 2 === 0 ? ['--force'] : []),
      '--source',
      spelled(i),
    ]);
    expect(expectAllWell(mixed).filter((s) => s === 'updated')).toHaveLength(1);
    expect(await watch.settled()).toEqual([[V4, range(SUBNET_NEW)]]);
    expect(restarts(await auditSettled(home))).toBe(2);
    expect((await home.readPool()).metadata.annotations).not.toHaveProperty([RELOAD_OWED_ANNOTATION]);
  }, 300_000);
});

describeIf(
  goToBuild('MetalLB', '1.22'),
  'no-go-toolchain',
  'a burst of runs with the real MetalLB controller v0.13.12',
  () => {
    // A MetalLB controller claims every LoadBalancer Service in the cluster: this one runs alone.
    exclusiveDuringSuite(LOAD_BALANCER_SERVICES);
    let home: HomeCluster | undefined;
    beforeAll(async () => {
      await holding(METALLB_CRDS, () => installReleaseCrds(admin, metallbRelease('v0.13.12')));
    }, 900_000);
    afterAll(async () => {
      if (home === undefined) return;
      const { namespace } = home;
      await core.deleteNamespacedService({ namespace, name: 'web' });
      await admin.makeApiClient(AppsV1Api).deleteNamespacedDeployment({
        name: 'metallb-controller',
        namespace,
        propagationPolicy: 'Foreground',
      });
      // The next suite's Services must not meet this controller.
      const controllerGone = async () =>
        (await core.listNamespacedPod({ namespace })).items.every(
          (p) => !(p.metadata?.name ?? '').startsWith('metallb-controller'),
        );
      for (let waited = 0; !(await controllerGone()); waited += 200) {
        if (waited > 30_000) throw new Error(`the MetalLB controller in ${namespace} did not stop`);
        await new Promise((r) => setTimeout(r, 200));
      }
    });

    it(`${String(RUNS)} syncs for a new prefix restart the real controller once, and the Service answers under the new prefix`, async () => {
      home = await homeCluster('burst-real', { metallbVersion: 'v0.13.12', realMetalLB: true });
      await createLoadBalancer(admin, home.namespace, 'web');
      await addressUnder(home.namespace, SUBNET_OLD);
      const watch = await watchAddresses(home);
      try {
        const runs = await burst(home, () => ['sync']);
        for (const run of runs) expect(run.code).toBe(0);
        expect(runs.filter((r) => r.result?.status === 'updated')).toHaveLength(1);
        expect(await watch.settled()).toEqual([[V4, range(SUBNET_NEW)]]);
        expect(restarts(await auditSettled(home))).toBe(1);
        await addressUnder(home.namespace, SUBNET_NEW);
      } finally {
        watch.stop();
      }
    }, 300_000);
  },
);

const admin = adminKubeConfig();
const core = admin.makeApiClient(CoreV1Api);

/** Waits until MetalLB gave the Service web an address under `subnet`. */
async function addressUnder(namespace: string, subnet: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const web = await core.readNamespacedService({ namespace, name: 'web' });
    const ips = web.status?.loadBalancer?.ingress?.map((i) => i.ip ?? '') ?? [];
    if (ips.some((ip) => ip.startsWith(`${subnet}::`))) return;
    if (Date.now() > deadline)
      throw new Error(`web in ${namespace} has ${JSON.stringify(ips)}, nothing under ${subnet}::/64`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
