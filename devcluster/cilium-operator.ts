// Cilium's real operator, the part that runs LB-IPAM, against a test control plane: built from the
// Go module proxy (scripts/provision-cilium.sh) and run as a process, as its Deployment would run
// it. It installs its own CRDs, watches CiliumLoadBalancerIPPools and every LoadBalancer Service of
// the cluster, and gives them addresses: a control plane running it is the operator's alone.
import path from 'node:path';
import { ApiextensionsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { provisioned } from './binaries.js';
import { established } from './metallb-fixture.js';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';

/**
 * The releases the tests run: the newest the module proxy serves, and the oldest that
 * scripts/provision-cilium.sh was found to build here (serving cilium.io/v2 pools, like every release since 1.18).
 */
export const CILIUM_RELEASES = ['v1.19.3', 'v1.20.2'] as const;

export const CILIUM_POOL_CRD = 'ciliumloadbalancerippools.cilium.io';

export interface CiliumOperator {
  version: string;
  /** The end of its log, for failure messages. */
  tail(): string;
  stop(): Promise<void>;
}

/** The operator of a release, built on first use and then cached. */
export function ciliumOperatorBinary(version: string): string {
  return path.join(provisioned('provision-cilium.sh', [version]), 'cilium-operator');
}

/**
 * Starts the operator with the admin kubeconfig and waits until the apiserver serves the pool CRD
 * it installs. Everything it listens on is on 127.0.0.1, on free ports.
 */
export async function startCiliumOperator(
  version: string,
  admin: KubeConfig,
  adminKubeconfig: string,
  runDir: string,
): Promise<CiliumOperator> {
  const [api, gops, metrics] = [await freePort(), await freePort(), await freePort()];
  const proc = new ManagedProcess(
    `cilium-operator ${version}`,
    ciliumOperatorBinary(version),
    [
      // LB-IPAM runs whatever the IPAM mode; `kubernetes` is the one that needs no pod CIDR pool.
      '--ipam=kubernetes',
      `--k8s-kubeconfig-path=${adminKubeconfig}`,
      '--k8s-namespace=kube-system',
      `--operator-api-serve-addr=127.0.0.1:${String(api)}`,
      `--gops-port=${String(gops)}`,
      `--operator-prometheus-serve-addr=127.0.0.1:${String(metrics)}`,
    ],
    path.join(runDir, `cilium-operator-${version}.log`),
  );
  try {
    await established(admin.makeApiClient(ApiextensionsV1Api), CILIUM_POOL_CRD, 90_000);
  } catch (error) {
    await proc.stop();
    throw new Error(`cilium-operator ${version} did not install its CRDs: ${String(error)}\n${proc.tail()}`, {
      cause: error,
    });
  }
  return { version, tail: () => proc.tail(), stop: () => proc.stop() };
}
