// Runs a test cluster in the background for `npm run cluster -- up` until told to stop; with
// --network, a home lab instead: the cluster's node inside a home network in network namespaces.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { testKubernetesVersion } from './binaries.js';
import { startTestCluster } from './test-cluster.js';
import { CLUSTER_STATE_FILE, type ClusterState } from './cluster-state.js';

/** What `up --network` adds to the state file: the home network's namespaces and how to use them. */
export interface NetworkState {
  kubernetes: string;
  metallb: string;
  delegation: string;
  namespaces: { isp: string; router: string; node: string; client: string };
  /** The home's namespace (MetalLB, the pool `pool`, the web Service) and its service account's kubeconfig. */
  home: { namespace: string; pool: string; kubeconfig: string };
  /** metallb-dyn6's environment for the home (a file of KEY=value lines). */
  envFile: string;
  /** Commands: one sync in the node's namespace, and a LAN client's request to the Service. */
  sync: string;
  curl: string;
}

async function startNetwork(): Promise<{
  state: ClusterState & { network: NetworkState };
  stop(): Promise<void>;
}> {
  const { DELEGATIONS, installHome, startHomeLab } = await import('./home-network/home-lab.js');
  // METALLB_DYN6_TEST_KUBERNETES picks the control plane; the home network's default is the current one.
  const kubernetes =
    process.env['METALLB_DYN6_TEST_KUBERNETES'] === undefined ? '1.37' : testKubernetesVersion();
  const metallb = process.env['METALLB_VERSION'] ?? 'v0.14.9';
  const lab = await startHomeLab(kubernetes);
  try {
    await lab.network.delegate(DELEGATIONS[0], false, { deprecate: true });
    const home = await installHome(lab, metallb);
    const envFile = path.join(lab.cluster.runDir, 'home-network', 'metallb-dyn6.env');
    const env = home.env({ METALLB_DYN6_SOURCE: 'interface:lan0', METALLB_DYN6_KEEP_HOST_PARTS: 'none' });
    writeFileSync(
      envFile,
      Object.entries(env)
        .filter(([key]) => key !== 'METALLB_DYN6_PORT')
        .map(([key, value]) => `${key}=${value}\n`)
        .join(''),
    );
    const net = lab.network;
    const network: NetworkState = {
      kubernetes,
      metallb,
      delegation: DELEGATIONS[0],
      namespaces: {
        isp: net.isp.ns.name,
        router: net.router.ns.name,
        node: net.node.ns.name,
        client: net.client.name,
      },
      home: { namespace: home.namespace, pool: home.pool, kubeconfig: home.kubeconfigPath },
      envFile,
      sync: `ip netns exec ${net.node.ns.name} env $(cat ${envFile}) ${process.execPath} --import tsx functions/cli/main.ts sync`,
      curl: `ip netns exec ${net.client.name} curl -g http://[ADDRESS]/`,
    };
    return {
      state: {
        pid: process.pid,
        kubeconfig: lab.cluster.adminKubeconfig,
        server: lab.cluster.server,
        network,
      },
      stop: () => lab.stop(),
    };
  } catch (error) {
    await lab.stop();
    throw error;
  }
}

async function startPlain(): Promise<{ state: ClusterState; stop(): Promise<void> }> {
  // METALLB_VERSION picks the release, METALLB_REAL=1 runs its real controller, and
  // METALLB_DYN6_TEST_KUBERNETES (1.20, 1.35 or 1.37) the control plane.
  const cluster = await startTestCluster({
    metallbVersion: process.env['METALLB_VERSION'] ?? 'v0.14.9',
    realMetalLB: process.env['METALLB_REAL'] === '1',
  });
  return {
    state: { pid: process.pid, kubeconfig: cluster.adminKubeconfig, server: cluster.server },
    stop: () => cluster.stop(),
  };
}

const running = process.argv.includes('--network') ? await startNetwork() : await startPlain();
writeFileSync(CLUSTER_STATE_FILE, JSON.stringify(running.state, null, 2));

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await running.stop();
  rmSync(CLUSTER_STATE_FILE, { force: true });
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
