// What the user actually needs: after the ISP changes the prefix and metallb-dyn6 syncs, the IPv6
// LoadBalancer Services answer on the new prefix. Proven with MetalLB's real controller (built from
// the Go module proxy) running against the test apiserver, not with a stand-in.
import { RELOAD_OWED_ANNOTATION } from '../../lib/plan/registry.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { createLoadBalancers, installReleaseCrds, setPodsNeverReady } from '../harness/metallb-fixture.js';
import { goToBuild, METRICS_PORT_ANNOTATION, metallbRelease } from '../harness/metallb-runtime.js';
import { readAuditEvents } from '../harness/control-plane.js';
import { adminKubeConfig, sharedCluster } from '../harness/shared-cluster.js';
import { testKubernetesVersion, type KubernetesVersion } from '../harness/binaries.js';
import { compareVersions, SELF_RELOADING, versionOfImage } from '../../lib/cluster/metallb-version.js';
import { runCli } from '../support/cli.js';
import { describeIf } from '../support/declared-skips.js';
import { homeCluster, range, SUBNET_NEW, SUBNET_OLD, type HomeCluster } from '../support/sync-fixture.js';

const admin = adminKubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const SERVICES = ['web', 'mqtt'];

/** Go, which builds MetalLB's controller from the module proxy; without it CI fails, a laptop skips loudly. */
const ingressOf = (svc: V1Service) => svc.status?.loadBalancer?.ingress?.map((i) => i.ip ?? '') ?? [];

async function ingress(namespace: string): Promise<Record<string, string[]>> {
  const services = (await core.listNamespacedService({ namespace })).items;
  return Object.fromEntries(services.map((s) => [s.metadata?.name ?? '', ingressOf(s)]));
}

/** The end of the real controller's log, for failure messages. */
function controllerLog(namespace: string): string {
  const file = path.join(sharedCluster().runDir, `metallb-controller-${namespace}.log`);
  if (!existsSync(file)) return `(no controller log: ${file})`;
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
}

/** Waits until every Service has one address, all under `subnet`; returns them. */
async function settledIn(
  namespace: string,
  subnet: string,
  timeoutMs = 30_000,
): Promise<Record<string, string[]>> {
  const deadline = Date.now() + timeoutMs;
  let seen: Record<string, string[]> = {};
  while (Date.now() < deadline) {
    seen = await ingress(namespace);
    const all = SERVICES.every(
      (name) => seen[name]?.length === 1 && seen[name][0]?.startsWith(`${subnet}::`),
    );
    if (all) return seen;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `Services in ${namespace} not all under ${subnet}::/64 after ${String(timeoutMs)} ms: ${JSON.stringify(seen)}\n${controllerLog(namespace)}`,
  );
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** MetalLB's own metric: 1 while it runs on a configuration it refused. */
async function configStale(namespace: string): Promise<number> {
  const pods = (await core.listNamespacedPod({ namespace })).items;
  const controller = pods.find(
    (p) =>
      p.metadata?.deletionTimestamp === undefined &&
      p.metadata?.annotations?.[METRICS_PORT_ANNOTATION] !== undefined,
  );
  const port = controller?.metadata?.annotations?.[METRICS_PORT_ANNOTATION];
  if (port === undefined) throw new Error(`no running MetalLB controller in ${namespace}`);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('metallb_k8s_client_config_stale_bool'));
  if (line === undefined) throw new Error('the controller exports no metallb_k8s_client_config_stale_bool');
  return Number(line.split(' ').pop());
}

/**
 * The MetalLB releases each test control plane can run: 0.14 and later need Kubernetes >= 1.21.
 * v0.15.3 is the newest that builds from the module proxy here: v0.16.2 requires
 * github.com/metallb/frr-k8s v0.0.27, which the proxy does not serve.
 */
const RELEASES: Record<KubernetesVersion, string[]> = {
  '1.20': ['v0.13.12'],
  '1.35': ['v0.13.12', 'v0.14.9', 'v0.15.3'],
};
const selfReloading = (version: string) => {
  const parsed = versionOfImage(`metallb/controller:${version}`);
  return parsed !== undefined && compareVersions(parsed, SELF_RELOADING) >= 0;
};
const controllerPods = async (namespace: string) =>
  (await core.listNamespacedPod({ namespace })).items
    .map((p) => p.metadata?.name ?? '')
    .filter((name) => name.startsWith('metallb-controller-'));

describeIf(
  goToBuild('MetalLB', '1.22'),
  'no-go-toolchain',
  `Services follow the prefix with the real MetalLB controller (Kubernetes ${testKubernetesVersion()})`,
  () => {
    // Without loadBalancerClass every MetalLB controller claims every Service in the cluster, so each
    // test's controller is gone before the next one starts.
    let current: HomeCluster | undefined;
    afterEach(async () => {
      const namespace = current?.namespace;
      current = undefined;
      if (namespace === undefined) return;
      await admin.makeApiClient(AppsV1Api).deleteNamespacedDeployment({
        name: 'metallb-controller',
        namespace,
        propagationPolicy: 'Foreground',
      });
      await until(
        `the MetalLB controller in ${namespace} to stop`,
        async () => (await controllerPods(namespace)).length === 0,
      );
    });

    describe.each(RELEASES[testKubernetesVersion()])('MetalLB %s', (version) => {
      const short = version.replaceAll('.', '').replace('v0', '');
      beforeAll(async () => {
        await installReleaseCrds(admin, metallbRelease(version));
      }, 900_000);

      async function homeWithServices(prefix: string, manifestLabels = false): Promise<HomeCluster> {
        const home = await homeCluster(`${prefix}-${short}`, {
          metallbVersion: version,
          realMetalLB: true,
          manifestLabels,
        });
        current = home;
        await createLoadBalancers(admin, home.namespace, SERVICES);
        await settledIn(home.namespace, SUBNET_OLD);
        return home;
      }

      it(
        selfReloading(version)
          ? 'moves every IPv6 LoadBalancer Service to the new prefix by itself: the sync leaves its pods alone'
          : 'moves every IPv6 LoadBalancer Service to the new prefix: the sync cycles MetalLB < 0.14.2',
        async () => {
          const home = await homeWithServices('real');
          const pods = await controllerPods(home.namespace);
          const run = await runCli(['sync'], home.env());
          expect(run.result).toMatchObject({
            status: 'updated',
            after: ['192.168.178.240/28', range(SUBNET_NEW)],
            reload: { action: selfReloading(version) ? 'skipped' : 'cycled' },
          });
          const moved = await settledIn(home.namespace, SUBNET_NEW);
          expect(Object.keys(moved).sort()).toEqual([...SERVICES].sort());
          expect(await configStale(home.namespace)).toBe(0);
          if (selfReloading(version)) expect(await controllerPods(home.namespace)).toEqual(pods);
          // MetalLB ran as its own service account, with the RBAC its release ships.
          const controller = `system:serviceaccount:${home.namespace}:controller`;
          const statusWrites = readAuditEvents(sharedCluster().auditLog, controller).filter(
            (e) => e.objectRef?.resource === 'services' && e.objectRef.subresource === 'status',
          );
          expect(statusWrites.map((e) => e.responseStatus?.code)).toContain(200);
        },
      );

      if (selfReloading(version)) return;

      it('without the cycle MetalLB < 0.14.2 refuses the new pool, says so in its metric, and the Services stay on the dead prefix', async () => {
        const home = await homeWithServices('stale');
        const before = await ingress(home.namespace);
        const run = await runCli(['sync', '--reload', 'never'], home.env());
        expect(run.result).toMatchObject({ status: 'updated', reload: { action: 'skipped' } });
        await until(
          'MetalLB to report its configuration stale',
          async () => (await configStale(home.namespace)) === 1,
        );
        expect(await ingress(home.namespace)).toEqual(before);
      });

      it('when MetalLB does not come back, the pool is restored byte for byte and the Services keep the old addresses', async () => {
        const home = await homeWithServices('rollback');
        const before = { pool: await home.readPool(), services: await ingress(home.namespace) };
        await setPodsNeverReady(admin, home.namespace, true);
        const run = await runCli(['sync', '--reload-timeout', '2'], home.env());
        expect(run.code).toBe(1);
        expect(run.result).toMatchObject({ status: 'rolled-back', stage: 'reload' });
        const after = await home.readPool();
        expect(after.spec).toEqual(before.pool.spec);
        // MetalLB did not come back on the restored pool either: the restart stays owed.
        expect(after.metadata.annotations).toEqual({
          ...before.pool.metadata.annotations,
          [RELOAD_OWED_ANNOTATION]: expect.any(String),
        });
        expect(await ingress(home.namespace)).toEqual(before.services);
      });

      it('finds a MetalLB installed from its own manifests (app=metallb) with the default selector, reads its version and cycles it', async () => {
        const home = await homeWithServices('manifests', true);
        const run = await runCli(['sync'], home.env());
        expect(run.result).toMatchObject({
          status: 'updated',
          reload: {
            action: 'cycled',
            reason: `MetalLB ${version} < v0.14.2 needs its pods restarted`,
            metallbImage: `quay.io/metallb/controller:${version}`,
          },
        });
        await settledIn(home.namespace, SUBNET_NEW);
      });
    });
  },
);
