// What Kubernetes gives a pod to reach the API: the service account's token, CA and namespace as
// files, and the API server's address in the environment. The CLI in a pod has nothing else.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sharedCluster } from '../../devcluster/shared-cluster.js';
import type { HomeCluster } from '../../devcluster/home-cluster.js';

// Where the kubelet mounts it in every container (client-node reads this path).
export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Writes the service account's files into `dir`, as the kubelet's projected volume would. */
export function writeServiceAccountFiles(dir: string, home: HomeCluster): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'token'), home.token, { mode: 0o644 });
  writeFileSync(path.join(dir, 'ca.crt'), sharedCluster().caPem);
  writeFileSync(path.join(dir, 'namespace'), home.namespace);
}

/** The home's sync settings with the in-cluster address instead of a kubeconfig. */
export function podEnv(home: HomeCluster, homeDir: string): Record<string, string> {
  const { hostname, port } = new URL(sharedCluster().server);
  const env = home.env();
  delete env['KUBECONFIG'];
  // An empty home: no ~/.kube/config to fall back on.
  return { ...env, HOME: homeDir, KUBERNETES_SERVICE_HOST: hostname, KUBERNETES_SERVICE_PORT: port };
}
