// A whole home lab for the tests, the benchmark, the demo and `npm run cluster -- up --network`: a
// test cluster with one node, the home network around that node, and per MetalLB release a home
// (MetalLB with its real controller and speaker, the pool, the web Service and metallb-dyn6's
// service account) whose Service a renumbering must move.
import path from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { controlPlaneBinaries, type KubernetesVersion } from '../binaries.js';
import { installReleaseCrds } from '../metallb-fixture.js';
import { metallbRelease } from '../metallb-runtime.js';
import type { ClusterHandle } from '../shared-cluster.js';
import { startTestCluster, type TestCluster } from '../test-cluster.js';
import { grantKeepHostParts, homeCluster, type HomeCluster } from '../home-cluster.js';
import { HomeNetwork } from './home-network.js';
import type { RunningFunction } from './function-modes.js';
import { NODE_ADDRESS } from './node-host.js';
import { createL2Advertisement, createWebService, WEB, webAddress } from './web-service.js';

export const NODE = 'home-node';
/** The IPv4 range every pool starts with: metallb-dyn6 must keep it. */
export const V4 = '192.168.178.240/28';
/** Two delegations the ISP alternates between: each renumbering moves from the current one to the other. */
export const DELEGATIONS = ['2a02:8071:1234:5600::/56', '2a02:8071:4321:ab00::/56'] as const;
/** The LAN /64 the router makes of a delegation (its first), as the start of its addresses. */
export const lanOf = (delegation: string) => delegation.replace(/::\/56$/, ':');

export interface HomeLab {
  cluster: TestCluster;
  network: HomeNetwork;
  handle: ClusterHandle;
  stop(): Promise<void>;
}

export async function startHomeLab(kubernetes: KubernetesVersion): Promise<HomeLab> {
  const bin = controlPlaneBinaries(kubernetes);
  const cluster = await startTestCluster({
    kubernetes,
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
  let network: HomeNetwork;
  try {
    network = await HomeNetwork.start({
      admin: cluster.admin,
      access: cluster,
      runtime: cluster.runtime,
      nodeName: NODE,
      kubeProxy: {
        binary: path.join(path.dirname(bin['kube-apiserver']), 'kube-proxy'),
        legacy: kubernetes === '1.20',
      },
      dir: path.join(cluster.runDir, 'home-network'),
    });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return {
    cluster,
    network,
    handle: { access: cluster, admin: cluster.admin, runDir: cluster.runDir },
    async stop() {
      await network.stop();
      await cluster.stop();
    },
  };
}

/** MetalLB `version` (real controller and speaker) in a namespace of its own, with the web Service. */
export async function installHome(lab: HomeLab, version: string): Promise<HomeCluster> {
  await installReleaseCrds(lab.cluster.admin, metallbRelease(version));
  const home = await homeCluster(
    `net-${version.replaceAll('.', '')}`,
    { metallbVersion: version, realMetalLB: true, addresses: [V4] },
    lab.handle,
  );
  await grantKeepHostParts(home, lab.handle);
  await createL2Advertisement(lab.cluster.admin, home.namespace, home.pool);
  await createWebService(lab.cluster.admin, home.namespace, NODE);
  return home;
}

/**
 * Removes a home's Service and MetalLB: without loadBalancerClass, the next release's controller
 * would claim the Service, and its speaker would answer for it too.
 */
export async function removeHome(lab: HomeLab, home: HomeCluster): Promise<void> {
  const apps = lab.cluster.admin.makeApiClient(AppsV1Api);
  await lab.cluster.admin
    .makeApiClient(CoreV1Api)
    .deleteNamespacedService({ name: WEB, namespace: home.namespace });
  await apps.deleteNamespacedDaemonSet({ name: 'metallb-speaker', namespace: home.namespace });
  await apps.deleteNamespacedDeployment({ name: 'metallb-controller', namespace: home.namespace });
}

/** Waits until a LAN client gets the backend's answer at the Service's address under `lan`. */
export async function answeredUnder(
  lab: HomeLab,
  home: HomeCluster,
  lan: string,
  timeoutMs: number,
): Promise<{ address: string; at: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const address = await webAddress(lab.cluster.admin, home.namespace);
    let last = `the Service's address is ${address ?? 'none'}`;
    if (address?.startsWith(lan) === true) {
      const answer = await lab.network.get(address, 'client', 1);
      if (answer.ok && answer.body.startsWith(`${WEB} `)) return { address, at: Date.now() };
      last = `${address}: ${answer.body}`;
    }
    if (Date.now() > deadline)
      throw new Error(`no answer from the Service under ${lan}/64 within ${String(timeoutMs)} ms (${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What a sync reported: the fields the home network's checks read. */
export type ReportedSync = ReturnType<RunningFunction['results']>[number];

/**
 * The function's report of the sync that moved the pool onto `to`'s LAN, once it has finished
 * (MetalLB's replacement pods Ready, when they were cycled): the function's answer to the router's
 * push of `to` after `since`, or the result a scheduled run printed.
 */
export async function syncOnto(
  lab: HomeLab,
  fn: RunningFunction,
  to: string,
  since: number,
  timeoutMs = 60_000,
): Promise<ReportedSync> {
  const onto = (r: ReportedSync | undefined): r is ReportedSync =>
    r?.after?.some((a) => a.startsWith(lanOf(to))) === true;
  const deadline = Date.now() + timeoutMs;
  let last: ReportedSync | undefined;
  for (;;) {
    if (fn.push === undefined) {
      const results = fn.results();
      last = results.find(onto) ?? results.at(-1);
    } else if (
      lab.network.router.events().some((e) => e.event === 'pushed' && e.prefix === to && e.at >= since)
    ) {
      last = lab.network.router.pushAnswer() as ReportedSync | undefined;
    }
    if (onto(last)) return last;
    if (Date.now() > deadline)
      throw new Error(
        `the function reported no sync onto ${lanOf(to)}/64 within ${String(timeoutMs)} ms (last: ${JSON.stringify(last)})`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One renumbering as a LAN client lived through it; times in ms since the epoch. */
export interface Renumbering {
  from: string;
  to: string;
  /** The Service's address before, and after. */
  before: string;
  after: string;
  /** When the router's hook had the new delegation on the LAN. */
  delegatedAt: number;
  /** The client's first answer at the new address. */
  answeredAt: number;
  /** The client's last answer before that (at the old address). */
  lastAnswerBefore: number;
}

/**
 * The ISP withdraws the current delegation and hands out the other one; a LAN client asks the
 * Service every 100 ms throughout, at whatever address the Service has, until it answers under the
 * new prefix. `push` is set in push mode: the router's hook posts the new prefix there.
 */
export async function renumber(
  lab: HomeLab,
  home: HomeCluster,
  options: { push?: { url: string; tokenFile: string }; deprecate?: boolean; timeoutMs?: number },
): Promise<Renumbering> {
  const from = lab.network.router.current();
  if (from === undefined) throw new Error('the router has no delegation to renumber from');
  const to = DELEGATIONS.find((d) => d !== from) ?? DELEGATIONS[0];
  const router = {
    deprecate: options.deprecate ?? true,
    ...(options.push === undefined ? {} : { push: options.push }),
  };
  const before = await answeredUnder(lab, home, lanOf(from), 60_000);
  const started = Date.now();
  let lastAnswerBefore = before.at;
  const probe = { stop: false };
  const probing = (async () => {
    while (!probe.stop) {
      const address = await webAddress(lab.cluster.admin, home.namespace);
      if (address !== undefined && !address.startsWith(lanOf(to))) {
        const answer = await lab.network.get(address, 'client', 1);
        if (answer.ok) lastAnswerBefore = Date.now();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await lab.network.delegate(to, false, router);
    const after = await answeredUnder(lab, home, lanOf(to), options.timeoutMs ?? 60_000);
    const delegatedAt = lab.network.router
      .events()
      .find((e) => e.event === 'applied' && e.prefix === to && e.at >= started)?.at;
    if (delegatedAt === undefined) throw new Error(`the router's hook never applied ${to}`);
    return {
      from,
      to,
      before: before.address,
      after: after.address,
      delegatedAt,
      answeredAt: after.at,
      lastAnswerBefore,
    };
  } finally {
    probe.stop = true;
    await probing;
  }
}
