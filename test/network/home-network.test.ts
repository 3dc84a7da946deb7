// The one sentence users need, observed end to end: after the ISP changes the prefix, their IPv6
// LoadBalancer Service answers on the new prefix. A DHCPv6 server delegates a /56 to a home router
// (dhclient -6 -P, radvd), the node forms its addresses by SLAAC, metallb-dyn6 learns the prefix
// (pushed by the router's hook, from the node's interface, or from an echo service on the
// internet), MetalLB's real controller moves the Service and its real speaker answers neighbour
// solicitations on the LAN, a real kube-proxy forwards to the backend pod, and a LAN client's
// HTTP request (and one from beyond the router) gets the backend's answer.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { compareVersions, SELF_RELOADING, versionOfImage } from '../../lib/cluster/metallb-version.js';
import { controlPlaneBinaries, testKubernetesVersion, type KubernetesVersion } from '../harness/binaries.js';
import { installMetalLB, installReleaseCrds } from '../harness/metallb-fixture.js';
import { goToBuild, metallbRelease } from '../harness/metallb-runtime.js';
import { startTestCluster, type TestCluster } from '../harness/test-cluster.js';
import { startFunction, type Mode, type RunningFunction } from '../harness/home-network/function-modes.js';
import { HomeNetwork, NETWORK_PROGRAMS, NODE_ADDRESS } from '../harness/home-network/home-network.js';
import { createL2Advertisement, createWebService, webAddress } from '../harness/home-network/web-service.js';
import { describeIf, type Condition } from '../support/declared-skips.js';
import { grantKeepHostParts, homeCluster, type HomeCluster } from '../support/sync-fixture.js';

const PLANE = testKubernetesVersion();
const NODE = 'home-node';
const V4 = '192.168.178.240/28';
/** Two delegations the ISP alternates between; each scenario moves from the current one to the other. */
const DELEGATIONS = ['2a02:8071:1234:5600::/56', '2a02:8071:4321:ab00::/56'] as const;
const lanOf = (delegation: string) => delegation.replace(/::\/56$/, ':');

const RELEASES: Record<KubernetesVersion, string[]> = {
  '1.20': ['v0.13.12'],
  '1.35': ['v0.13.12', 'v0.14.9', 'v0.15.3'],
  '1.37': ['v0.13.12', 'v0.14.9', 'v0.15.3'],
};

function homeNetworkPossible(): Condition {
  const go = goToBuild('MetalLB and kube-proxy', '1.24');
  if (go !== true) return go;
  const missing = NETWORK_PROGRAMS.filter((p) => !existsSync(p));
  let why = missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
  if (why === undefined && process.getuid?.() !== 0) why = 'not root: network namespaces need CAP_SYS_ADMIN';
  if (why === undefined) return true;
  if (process.env['CI'] === 'true') throw new Error(`the home network cannot be built here: ${why}`);
  return { unavailable: why };
}

const selfReloading = (version: string) => {
  const parsed = versionOfImage(`metallb/controller:${version}`);
  return parsed !== undefined && compareVersions(parsed, SELF_RELOADING) >= 0;
};

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const hostPart = (address: string) => address.split(':').slice(4).join(':');

describeIf(
  homeNetworkPossible(),
  'no-home-network',
  `a home network renumbered by its ISP (Kubernetes ${PLANE})`,
  () => {
    let cluster: TestCluster;
    let network: HomeNetwork;
    let delegation = 0;

    beforeAll(async () => {
      const bin = controlPlaneBinaries(PLANE);
      cluster = await startTestCluster({
        kubernetes: PLANE,
        nodes: [
          {
            name: NODE,
            addresses: [
              { type: 'InternalIP', address: NODE_ADDRESS },
              { type: 'Hostname', address: NODE },
            ],
          },
        ],
      });
      network = await HomeNetwork.start({
        admin: cluster.admin,
        access: cluster,
        runtime: cluster.runtime,
        nodeName: NODE,
        kubeProxy: {
          binary: path.join(path.dirname(bin['kube-apiserver']), 'kube-proxy'),
          legacy: PLANE === '1.20',
        },
        dir: path.join(cluster.runDir, 'home-network'),
      });
      await network.delegate(DELEGATIONS[delegation], false, { deprecate: true });
    }, 600_000);

    afterAll(async () => {
      await network?.stop();
      await cluster?.stop();
    });

    describe.each(RELEASES[PLANE])('MetalLB %s', (version) => {
      let home: HomeCluster;
      const handle = () => ({ access: cluster, admin: cluster.admin, runDir: cluster.runDir });

      beforeAll(async () => {
        await installReleaseCrds(cluster.admin, metallbRelease(version));
        home = await homeCluster(
          `net-${version.replaceAll('.', '')}`,
          { metallbVersion: version, realMetalLB: true, addresses: [V4] },
          handle(),
        );
        await grantKeepHostParts(home, handle());
        await createL2Advertisement(cluster.admin, home.namespace, home.pool);
        await createWebService(cluster.admin, home.namespace, NODE);
      }, 600_000);

      afterAll(async () => {
        if (home === undefined) return;
        const core = cluster.admin.makeApiClient(CoreV1Api);
        await core.deleteNamespacedService({ name: 'web', namespace: home.namespace });
        await cluster.admin
          .makeApiClient(AppsV1Api)
          .deleteNamespacedDaemonSet({ name: 'metallb-speaker', namespace: home.namespace });
        await cluster.admin
          .makeApiClient(AppsV1Api)
          .deleteNamespacedDeployment({ name: 'metallb-controller', namespace: home.namespace });
      });

      async function answeredAt(prefix: string, timeoutMs: number): Promise<{ address: string; at: number }> {
        return until(
          `the Service to answer a LAN client under ${prefix}`,
          async () => {
            const address = await webAddress(cluster.admin, home.namespace);
            if (address?.startsWith(prefix) !== true) return undefined;
            const answer = await network.get(address, 'client', 1);
            return answer.ok && answer.body.startsWith('web ') ? { address, at: Date.now() } : undefined;
          },
          timeoutMs,
        );
      }

      async function withFunction<T>(
        mode: Mode,
        keepHostParts: boolean,
        body: (fn: RunningFunction) => Promise<T>,
      ): Promise<T> {
        const fn = await startFunction({
          mode,
          keepHostParts,
          env: home.env({ METALLB_DYN6_PORT: '8080' }),
          node: network.node.ns,
          dir: path.join(cluster.runDir, 'home-network'),
        });
        try {
          return await body(fn);
        } finally {
          await fn.stop();
        }
      }

      it.each([
        ['push', false],
        ['interface', false],
        ['scheduled', false],
      ] as [Mode, boolean][])(
        'the ISP hands out a new /56 (%s mode, keep host parts: %s): a LAN client gets the answer at the new address',
        async (mode, keepHostParts) => {
          await withFunction(mode, keepHostParts, async (fn) => {
            const from = DELEGATIONS[delegation];
            const to = DELEGATIONS[1 - delegation];
            network.router.configure({
              deprecate: true,
              ...(fn.push === undefined ? {} : { push: fn.push }),
            });
            // Where the Service is before: on the current delegation, answered.
            if (mode === 'push') {
              // serve only acts when told: the router re-announces the current delegation.
              await network.delegate(from, true, { deprecate: true, push: fn.push! });
            }
            const before = await answeredAt(lanOf(from), 60_000);
            const started = Date.now();
            delegation = 1 - delegation;
            await network.delegate(to, false, {
              deprecate: true,
              ...(fn.push === undefined ? {} : { push: fn.push }),
            });
            const after = await answeredAt(lanOf(to), 60_000);
            const fromInternet = await network.get(after.address, 'internet');
            expect(fromInternet).toMatchObject({ ok: true });
            expect(await network.neighbourAnswers(before.address)).toBe(false);
            if (keepHostParts) expect(hostPart(after.address)).toBe(hostPart(before.address));
            console.log(
              `${version} ${mode}: ${String(after.at - started)} ms from renumbering to the answer`,
            );
          });
        },
        240_000,
      );
    });
  },
);
