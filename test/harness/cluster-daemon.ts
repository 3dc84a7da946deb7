// Runs a test cluster in the background for `npm run cluster -- up` until told to stop.
import { rmSync, writeFileSync } from 'node:fs';
import { startTestCluster } from './test-cluster.js';
import { CLUSTER_STATE_FILE, type ClusterState } from './cluster-state.js';

// METALLB_VERSION picks the release, METALLB_REAL=1 runs its real controller, and
// METALLB_DYN6_TEST_KUBERNETES (1.20 or 1.35) the control plane.
const cluster = await startTestCluster({
  metallbVersion: process.env['METALLB_VERSION'] ?? 'v0.14.9',
  realMetalLB: process.env['METALLB_REAL'] === '1',
});
const state: ClusterState = { pid: process.pid, kubeconfig: cluster.adminKubeconfig, server: cluster.server };
writeFileSync(CLUSTER_STATE_FILE, JSON.stringify(state, null, 2));

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await cluster.stop();
  rmSync(CLUSTER_STATE_FILE, { force: true });
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
