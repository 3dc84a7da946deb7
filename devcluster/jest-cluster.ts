import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { bundle } from '../scripts/bundle.js';
import { REPO_ROOT } from './binaries.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';
import { CLI_BUNDLED_ENV, CLUSTER_ENV, type SharedCluster } from './shared-cluster.js';

let cluster: TestCluster | undefined;

/**
 * One control plane for the whole jest run; tests isolate themselves by namespace. The CLI tests run
 * the bundle that ships (container images run it), built here once, alongside the cluster's start.
 */
export async function setup(): Promise<void> {
  provisionTestTools();
  [cluster] = await Promise.all([startTestCluster(), bundle('cli')]);
  const shared: SharedCluster = {
    server: cluster.server,
    caPem: cluster.caPem,
    adminKubeconfig: cluster.adminKubeconfig,
    auditLog: cluster.auditLog,
    runDir: cluster.runDir,
  };
  // Workers are forked after global setup and inherit these.
  process.env[CLUSTER_ENV] = JSON.stringify(shared);
  process.env[CLI_BUNDLED_ENV] = '1';
}

/** The system programs the tests drive (dnsmasq, openssl, ...), installed when missing. */
function provisionTestTools(): void {
  execFileSync('bash', [path.join(REPO_ROOT, 'scripts/provision-test-tools.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
  cluster = undefined;
}
