import { bundle } from '../../scripts/bundle.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';
import { CLUSTER_ENV, type SharedCluster } from './shared-cluster.js';

let cluster: TestCluster | undefined;

/**
 * One control plane for the whole jest run; tests isolate themselves by namespace. The CLI tests run
 * the bundle that ships (container images run it), built here once, alongside the cluster's start.
 */
export async function setup(): Promise<void> {
  [cluster] = await Promise.all([startTestCluster(), bundle('cli')]);
  const shared: SharedCluster = {
    server: cluster.server,
    caPem: cluster.caPem,
    adminKubeconfig: cluster.adminKubeconfig,
    auditLog: cluster.auditLog,
    runDir: cluster.runDir,
  };
  // Workers are forked after global setup and inherit this.
  process.env[CLUSTER_ENV] = JSON.stringify(shared);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
  cluster = undefined;
}
