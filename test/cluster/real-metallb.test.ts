// What the user actually needs: after the ISP changes the prefix and metallb-dyn6 syncs, the IPv6
// LoadBalancer Services answer on the new prefix. Proven with MetalLB's real controller (built from
// the Go module proxy) running against the test apiserver, not with a stand-in.
import { RELOAD_OWED_ANNOTATION } from '../../lib/plan/pool-record.js';
import { PINNED_BY_US_ANNOTATION } from '../../lib/plan/host-parts.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Service,
} from '@kubernetes/client-node';
import {
  createLoadBalancer,
  createLoadBalancers,
  installReleaseCrds,
  setPodsNeverReady,
} from '../../devcluster/metallb-fixture.js';
import { goToBuild, METRICS_PORT_ANNOTATION, metallbRelease } from '../../devcluster/metallb-runtime.js';
import { readAuditEvents } from '../../devcluster/control-plane.js';
import { adminKubeConfig, sharedCluster } from '../../devcluster/shared-cluster.js';
import { testKubernetesVersion, type KubernetesVersion } from '../../devcluster/binaries.js';
import {
  compareVersions,
  pinAnnotationFor,
  SELF_RELOADING,
  versionOfImage,
} from '../../lib/cluster/metallb-version.js';
import { runCli } from '../../devcluster/cli.js';
import { exclusiveDuringSuite, holding, LOAD_BALANCER_SERVICES, METALLB_CRDS } from '../support/exclusive.js';
import { describeIf } from '../support/declared-skips.js';
import {
  grantKeepHostParts,
  homeCluster,
  range,
  SUBNET_NEW,
  SUBNET_OLD,
  type HomeCluster,
} from '../../devcluster/home-cluster.js';

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

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const createService = (namespace: string, name: string, pin?: Parameters<typeof createLoadBalancer>[3]) =>
  createLoadBalancer(admin, namespace, name, pin);

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
  '1.37': ['v0.13.12', 'v0.14.9', 'v0.15.3'],
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
    exclusiveDuringSuite(LOAD_BALANCER_SERVICES);
    afterEach(async () => {
      const namespace = current?.namespace;
      current = undefined;
      if (namespace === undefined) return;
      // The next test's controller would otherwise take these Services over, addresses and all.
      for (const service of (await core.listNamespacedService({ namespace })).items)
        await core.deleteNamespacedService({ namespace, name: service.metadata?.name ?? '' });
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
        await holding(METALLB_CRDS, () => installReleaseCrds(admin, metallbRelease(version)));
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

      // A range of its own, so that no other test's Service is in it.
      const [KEEP_OLD, KEEP_NEW, ULA] = ['2a02:8071:1234:5a00', '2a02:8071:1234:5acd', 'fd00:8071:1234:5a00'];

      /**
       * Services as a home lab has them after a while: web at ::1005 unpinned, mqtt and legacy pinned
       * by a person inside our range (annotation, spec.loadBalancerIP), vpn pinned by a person to a
       * ULA outside it, plain numbered by MetalLB.
       */
      async function homeWithPins(prefix: string) {
        const home = await homeCluster(`${prefix}-${short}`, {
          metallbVersion: version,
          realMetalLB: true,
          // Ours first: MetalLB gives an unpinned Service the first free address of the first range.
          addresses: ['192.168.178.240/28', range(KEEP_OLD), `${ULA}::/120`],
        });
        current = home;
        await grantKeepHostParts(home);
        // People pin with the annotation their MetalLB reads.
        const pin = pinAnnotationFor(`quay.io/metallb/controller:${version}`);
        const namespace = home.namespace;
        await createService(namespace, 'web', { annotations: { [pin]: `${KEEP_OLD}::1005` } });
        await createService(namespace, 'mqtt', { annotations: { [pin]: `${KEEP_OLD}::1010` } });
        await createService(namespace, 'legacy', { loadBalancerIP: `${KEEP_OLD}::1011` });
        await createService(namespace, 'vpn', { annotations: { [pin]: `${ULA}::5` } });
        await createService(namespace, 'plain');
        await until('MetalLB to assign every Service', async () =>
          Object.values(await ingress(namespace)).every((ips) => ips.length === 1),
        );
        // web ends up at ::1005 without a pin, as a Service MetalLB numbered long ago: MetalLB
        // keeps an address when the pin that asked for it goes.
        await core.patchNamespacedService(
          { namespace, name: 'web', body: { metadata: { annotations: { [pin]: null } } } },
          mergePatch,
        );
        const before = await ingress(namespace);
        expect(before).toMatchObject({
          web: [`${KEEP_OLD}::1005`],
          mqtt: [`${KEEP_OLD}::1010`],
          legacy: [`${KEEP_OLD}::1011`],
          vpn: [`${ULA}::5`],
          plain: [`${KEEP_OLD}::1000`],
        });
        const env = (keep: string) =>
          home.env({ METALLB_DYN6_KEEP_HOST_PARTS: keep, METALLB_DYN6_SOURCE: `static:${KEEP_NEW}::9` });
        return { home, namespace, before, env };
      }

      it(`keeps each Service's host part under the new prefix (${selfReloading(version) ? 'MetalLB reloads by itself' : 'MetalLB cycled'}), and leaves a Service a person pinned outside our range untouched`, async () => {
        const { home, namespace, before, env } = await homeWithPins('keep');
        const vpn = await core.readNamespacedService({ namespace, name: 'vpn' });

        const run = await runCli(['sync'], env('all'));
        // First, so that a failed run shows its stage and message (toMatchObject would hide them).
        expect({ status: run.result?.status, stage: run.result?.stage, error: run.result?.error }).toEqual({
          status: 'updated',
        });
        expect(run.result).toMatchObject({
          status: 'updated',
          after: ['192.168.178.240/28', range(KEEP_NEW), `${ULA}::/120`],
          reload: { action: selfReloading(version) ? 'skipped' : 'cycled' },
          services: { mode: 'all', notKept: [] },
        });
        const changed = (run.result?.services?.changed ?? []).filter((c) =>
          c.service.startsWith(`${namespace}/`),
        );
        expect(changed.map((c) => `${c.service} ${c.kind}`).sort()).toEqual(
          ['legacy rewrite', 'mqtt rewrite', 'plain pin', 'web pin'].map((c) => `${namespace}/${c}`),
        );
        const hostPart = (ip: string) => ip.slice(ip.lastIndexOf('::'));
        const expected = Object.fromEntries(
          Object.entries(before).map(([name, ips]) => [
            name,
            ips.map((ip) => (ip.startsWith(`${KEEP_OLD}::`) ? `${KEEP_NEW}${hostPart(ip)}` : ip)),
          ]),
        );
        await until(
          'every kept Service to be at its host part under the new prefix',
          async () => JSON.stringify(await ingress(namespace)) === JSON.stringify(expected),
          60_000,
        ).catch(async (error: unknown) => {
          throw new Error(
            `${String(error)}: ${JSON.stringify(await ingress(namespace))} (wanted ${JSON.stringify(expected)})\n${controllerLog(namespace)}`,
          );
        });
        expect(expected['web']).toEqual([`${KEEP_NEW}::1005`]);
        // The person's pin outside our range: not a byte changed, and the same address.
        const vpnAfter = await core.readNamespacedService({ namespace, name: 'vpn' });
        expect(vpnAfter.metadata?.annotations).toEqual(vpn.metadata?.annotations);
        expect(vpnAfter.spec).toEqual(vpn.spec);
        const ourWrites = readAuditEvents(sharedCluster().auditLog, home.username).filter(
          (e) => e.objectRef?.resource === 'services' && e.verb === 'patch',
        );
        expect(ourWrites.map((e) => e.objectRef?.name).sort()).toEqual(['legacy', 'mqtt', 'plain', 'web']);
        // The next run has nothing to do, and does not look at a Service.
        const again = await runCli(['sync'], env('all'));
        expect(again.result).toMatchObject({ status: 'unchanged' });
        expect(again.result).not.toHaveProperty('services');
      }, 180_000);

      if (selfReloading(version))
        it('without keeping, MetalLB renumbers the unpinned Services and leaves the pinned ones pending (the control)', async () => {
          const { namespace, env } = await homeWithPins('nokeep');
          const run = await runCli(['sync'], env('none'));
          expect(run.result).toMatchObject({ status: 'updated' });
          expect(run.result).not.toHaveProperty('services');
          await until('MetalLB to renumber web and plain', async () => {
            const now = await ingress(namespace);
            return [now['web'], now['plain']].every((ips) => ips?.[0]?.startsWith(`${KEEP_NEW}::`) === true);
          });
          const now = await ingress(namespace);
          // web's ::1005 is gone: it got a low free address; the pinned ones have none.
          expect(now['web']).not.toEqual([`${KEEP_NEW}::1005`]);
          expect(now['mqtt']).toEqual([]);
          expect(now['legacy']).toEqual([]);
        });

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

      it("when MetalLB does not come back, the Services' pins are put back with the pool", async () => {
        const { home, namespace, before } = await homeWithPins('keepback');
        // MetalLB's own note of the pool it allocated from comes and goes as its controller works
        // (a replacement that starts on the new pool drops it before the rollback): not compared.
        const services = async () =>
          (await core.listNamespacedService({ namespace })).items.map((s) => ({
            name: s.metadata?.name,
            annotations: Object.fromEntries(
              Object.entries(s.metadata?.annotations ?? {}).filter(
                ([key]) => !key.endsWith('/ip-allocated-from-pool'),
              ),
            ),
            loadBalancerIP: s.spec?.loadBalancerIP,
          }));
        const pins = await services();
        await setPodsNeverReady(admin, namespace, true);
        const run = await runCli(
          ['sync', '--reload-timeout', '2'],
          home.env({ METALLB_DYN6_KEEP_HOST_PARTS: 'all', METALLB_DYN6_SOURCE: `static:${KEEP_NEW}::9` }),
        );
        expect(run.code).toBe(1);
        expect(run.result).toMatchObject({ status: 'rolled-back', services: { undone: true } });
        // The people's pins as they were; the Services MetalLB had numbered are pinned (by us, on
        // record) where they were, so that they come back there.
        const pinned = (name: string, ip: string) => ({
          ...pins.find((p) => p.name === name),
          annotations: {
            ...pins.find((p) => p.name === name)?.annotations,
            [pinAnnotationFor(`quay.io/metallb/controller:${version}`)]: ip,
            [PINNED_BY_US_ANNOTATION]: ip,
          },
        });
        expect(await services()).toEqual(
          pins.map((p) =>
            p.name === 'web' || p.name === 'plain' ? pinned(p.name, before[p.name]?.[0] ?? '') : p,
          ),
        );
        // Once MetalLB does come back, on the restored pool and pins, it numbers them as before.
        await setPodsNeverReady(admin, namespace, false);
        await core.deleteCollectionNamespacedPod({ namespace });
        await until(
          'the Services to be back at their old addresses',
          async () => JSON.stringify(await ingress(namespace)) === JSON.stringify(before),
        ).catch(async (error: unknown) => {
          const pods = (await core.listNamespacedPod({ namespace })).items.map(
            (p) => `${p.metadata?.name ?? ''} ${p.status?.phase ?? ''}`,
          );
          throw new Error(
            `${String(error)}: ${JSON.stringify(await ingress(namespace))} (wanted ${JSON.stringify(before)}) pods ${pods.join(', ')}\n${controllerLog(namespace)}`,
          );
        });
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
