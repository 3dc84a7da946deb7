// npm run cluster -- up|down|status: a local control plane with MetalLB fixtures, for trying the tool.
// `up --network` (root): a home lab instead, the cluster's node in a home network in network
// namespaces with MetalLB's real controller and speaker; `down` removes the namespaces too.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { controlPlaneBinaries, REPO_ROOT } from './binaries.js';
import { CLUSTER_STATE_FILE, isAlive, runningCluster, type ClusterState } from './cluster-state.js';
import type { NetworkState } from './cluster-daemon.js';

const LOG = path.join(REPO_ROOT, '.run', 'cluster-daemon.log');

const networkOf = (state: ClusterState) => (state as ClusterState & { network?: NetworkState }).network;

/** How to use the home network `up --network` started (to stderr: stdout is the kubeconfig). */
function describeNetwork(network: NetworkState): void {
  const ns = network.namespaces;
  console.error(
    `home network (Kubernetes ${network.kubernetes}, MetalLB ${network.metallb}, the ISP delegates ${network.delegation}):`,
  );
  console.error(`  namespaces: isp ${ns.isp}, router ${ns.router}, node ${ns.node}, client ${ns.client}`);
  console.error(
    `  home: namespace ${network.home.namespace}, pool ${network.home.pool}, Service web (kubeconfig ${network.home.kubeconfig})`,
  );
  console.error(`  sync once from the node's interface (in the repo root):\n    ${network.sync}`);
  console.error(`  a LAN client's request (ADDRESS: the Service's IPv6 address):\n    ${network.curl}`);
}

async function up(): Promise<number> {
  const withNetwork = process.argv.includes('--network');
  const existing = runningCluster();
  if (existing !== undefined) {
    const network = networkOf(existing);
    if (withNetwork !== (network !== undefined))
      console.error(
        `a cluster ${network === undefined ? 'without' : 'with'} a home network is running already`,
      );
    if (network !== undefined) describeNetwork(network);
    console.log(existing.kubeconfig);
    return 0;
  }
  if (withNetwork && process.getuid?.() !== 0) {
    console.error('up --network needs root: the home network is made of network namespaces');
    return 1;
  }
  if (!withNetwork) controlPlaneBinaries();
  mkdirSync(path.dirname(LOG), { recursive: true });
  rmSync(CLUSTER_STATE_FILE, { force: true });
  const log = openSync(LOG, 'w');
  const daemon = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(REPO_ROOT, 'devcluster/cluster-daemon.ts'),
      ...(withNetwork ? ['--network'] : []),
    ],
    { detached: true, stdio: ['ignore', log, log], cwd: REPO_ROOT },
  );
  daemon.unref();
  // A home network builds MetalLB's images and starts its speaker and kube-proxy too.
  const deadline = Date.now() + (withNetwork ? 300_000 : 120_000);
  while (Date.now() < deadline) {
    const state = runningCluster();
    if (state !== undefined) {
      console.error(
        `cluster running (pid ${String(state.pid)}, ${state.server}); stop it with: npm run cluster -- down`,
      );
      console.error(`  export KUBECONFIG=${state.kubeconfig}`);
      const network = networkOf(state);
      if (network !== undefined) describeNetwork(network);
      console.log(state.kubeconfig);
      return 0;
    }
    if (daemon.pid === undefined || !isAlive(daemon.pid)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`cluster did not start; its log (${LOG}):\n${readFileSync(LOG, 'utf8')}`);
  if (daemon.pid !== undefined && isAlive(daemon.pid)) process.kill(daemon.pid, 'SIGTERM');
  return 1;
}

async function down(): Promise<number> {
  const state = runningCluster();
  if (state === undefined) {
    rmSync(CLUSTER_STATE_FILE, { force: true });
    console.error('no cluster running');
    return 0;
  }
  process.kill(state.pid, 'SIGTERM');
  const network = networkOf(state);
  const deadline = Date.now() + (network === undefined ? 30_000 : 60_000);
  while (isAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(state.pid)) {
    console.error(`cluster daemon ${String(state.pid)} did not stop`);
    return 1;
  }
  if (network !== undefined) {
    // The daemon deletes its namespaces as it stops; whatever is left (a failed stop) goes here.
    for (const name of Object.values(network.namespaces))
      if (existsSync(path.join('/run/netns', name))) execFileSync('ip', ['netns', 'delete', name]);
    console.error(`home network removed (${Object.values(network.namespaces).join(', ')})`);
  }
  console.error('cluster stopped');
  return 0;
}

const command = process.argv[2];
const commands: Record<string, () => Promise<number>> = {
  up,
  down,
  status: () => {
    const state = runningCluster();
    console.log(state === undefined ? 'no cluster running' : JSON.stringify(state, null, 2));
    return Promise.resolve(0);
  },
};
const run = command === undefined ? undefined : commands[command];
if (run === undefined) {
  console.error('usage: npm run cluster -- up [--network] | down | status');
  process.exitCode = 2;
} else {
  process.exitCode = await run();
}
